/** BigQuery fakes that hold tables, for tests that compare what two ways of running leave behind. */
import { appendEvents } from '../../shared/events/load-events';
import { BigQueryWarehouse } from '../../shared/warehouse/bigquery';
import { createBigQueryClient } from '../../shared/warehouse/factory';
import type { Row } from '../../shared/warehouse/warehouse';
import { BigQueryFake } from '../fakes/bigquery-fake';
import type { FakeTables } from '../fakes/bigquery-tables';
import { context, SOURCE } from './warehouse';

export const KPI_TABLES = ['daily_user_panel', 'installs', 'last_activity', 'daily_coins'];

export interface BigQueryWithTables {
  fake: BigQueryFake;
  tables: FakeTables;
  /** A new client and adapter on the fake, as another function instance would have; retries are fast. */
  warehouse: () => Promise<BigQueryWarehouse>;
  /** The rows of these daily_kpis tables (default: the shipped config's) as one string: equal strings, equal tables. */
  checksum: (names?: string[]) => Promise<string>;
  /** The run log's rows of one run id, as arrays of column values. */
  runLogRows: (runId: string) => Promise<unknown[][]>;
}

/** A started BigQuery fake with tables, holding `events` in gamepltx.fact. */
export async function bigQueryWithEvents(events: Row[]): Promise<BigQueryWithTables> {
  const fake = await new BigQueryFake({ tables: true }).start();
  const tables = fake.tableStore as FakeTables;
  const warehouse = async () =>
    new BigQueryWarehouse(await createBigQueryClient('demo-project', 'US', fake.url), {
      projectId: 'demo-project',
      location: 'US',
      retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 2 },
      // Production's CONCURRENCY_RETRY (10 tries over about six minutes, for runs of minutes) scaled
      // to the fake's runs: a few hundred ms each on an idle machine, seconds on a loaded one, where
      // ten runs at once can abort one run nine times within 10 tries of 1.5 s. Up to about 90 s here.
      concurrencyRetry: { attempts: 30, baseDelayMs: 50, maxDelayMs: 3000 },
    });
  const loader = await warehouse();
  await loader.ensureTable(SOURCE);
  await appendEvents(loader, SOURCE, events, context);
  return {
    fake,
    tables,
    warehouse,
    checksum: async (names = KPI_TABLES) => {
      const parts: string[] = [];
      for (const table of names) parts.push(await tables.checksum('daily_kpis', table));
      return parts.join('\n');
    },
    runLogRows: async (runId) =>
      (JSON.parse(await tables.checksum('logs', 'daily_logs')) as unknown[][]).filter((row) => row.includes(runId)),
  };
}
