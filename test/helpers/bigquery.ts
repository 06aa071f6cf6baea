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
      // Production's CONCURRENCY_RETRY (10 tries, 2 s growing to 60 s, for runs of minutes) scaled
      // to the fake's runs of a few hundred ms (the shipped config's nine tables).
      concurrencyRetry: { attempts: 10, baseDelayMs: 50, maxDelayMs: 1500 },
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
    runLogRows: async (runId) => (JSON.parse(await tables.checksum('logs', 'daily_logs')) as unknown[][]).filter((row) => row.includes(runId)),
  };
}
