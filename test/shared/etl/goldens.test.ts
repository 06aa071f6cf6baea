/**
 * The ETL script exactly as each engine receives it, compared with golden files. After an
 * intended SQL change, rewrite them with `UPDATE_GOLDENS=1 npm test -- goldens` and review the diff.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { planEtl, selectTables } from '../../../shared/etl/plan';
import { BigQueryWarehouse } from '../../../shared/warehouse/bigquery';
import { createBigQueryClient } from '../../../shared/warehouse/factory';
import type { Warehouse } from '../../../shared/warehouse/warehouse';
import { job, openMemoryWarehouse } from '../../helpers/warehouse';

const GOLDENS = path.resolve(__dirname, '../../goldens');
const range = { start: '2026-11-20', end: '2026-11-21' };

function expectGolden(name: string, actual: string): void {
  const file = path.join(GOLDENS, name);
  if (process.env.UPDATE_GOLDENS === '1') writeFileSync(file, actual);
  expect(actual).toBe(readFileSync(file, 'utf8'));
}

function rendered(warehouse: Warehouse): string {
  const plan = planEtl(warehouse, job, selectTables(job), range);
  const params = Object.entries(plan.params).map(
    ([name, p]) => `--   @${name} ${p.type} = ${p.value instanceof Date ? p.value.toISOString() : String(p.value)}`,
  );
  return `-- parameters:\n${params.join('\n')}\n\n${warehouse.renderScript(plan.statements, { atomic: true })}`;
}

test('the BigQuery ETL script matches its golden file', async () => {
  // No request is sent: rendering needs only the project id.
  const client = await createBigQueryClient('demo-project', 'US', 'http://127.0.0.1:9');
  expectGolden(
    'etl.bigquery.sql',
    rendered(new BigQueryWarehouse(client, { projectId: 'demo-project', location: 'US' })),
  );
});

test('the DuckDB ETL script matches its golden file', async () => {
  const warehouse = await openMemoryWarehouse();
  try {
    expectGolden('etl.duckdb.sql', rendered(warehouse));
  } finally {
    await warehouse.close();
  }
});
