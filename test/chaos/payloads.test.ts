/**
 * Generated payloads against the three functions, over real HTTP through the functions-framework:
 * raw bytes, JSON of every shape, near-valid dates and ranges. Every delivery is answered (within
 * a bound, so a hang shows), and none crashes the function: it runs the message, or acknowledges
 * it with a reason. `npm test` sends CHAOS_RUNS (default 150) per contract; `npm run chaos` 10,000.
 * The figures are printed as one table.
 */
import path from 'node:path';
import fc from 'fast-check';
import { appendEvents } from '../../shared/events/load-events';
import type { FunctionRuntime } from '../../shared/pipeline/function-runtime';
import { pubsubEvent, useFunctionRuntime, withFunctionServer } from '../helpers/functions';
import { historyWithAnomalies, tempDir } from '../helpers/history';
import { context, SOURCE } from '../helpers/warehouse';

const RUNS = Number(process.env.CHAOS_RUNS ?? 150);
const NOW = '2026-11-27T06:00:00.000Z';
/**
 * A delivery not answered within this is a hang. Generous: the machine may be busy, and a slow
 * answer is not a failure (speed goals live in `npm run bench`); only one that never comes is.
 */
const ANSWER_WITHIN_MS = 60_000;

let env: NodeJS.ProcessEnv;
let runtime: FunctionRuntime;
beforeAll(async () => {
  const dir = tempDir('kpis-chaos-');
  env = {
    KPIS_WAREHOUSE: `duckdb:${path.join(dir, 'w.duckdb')}`,
    KPIS_PUBLISHER: 'local',
    KPIS_TOPICS_DIR: dir,
    KPIS_NOW: NOW,
    KPIS_LOG_LEVEL: 'ERROR',
  };
  runtime = useFunctionRuntime(env);
  await appendEvents((await runtime.ports()).warehouse, SOURCE, historyWithAnomalies('2026-11-27', 7, {}), context);
});
afterAll(async () => {
  await runtime.close();
  process.stdout.write(
    `\nchaos: generated payloads per contract (${RUNS} each)\n${figures.map((row) => row.join('  ')).join('\n')}\n`,
  );
});

const figures: string[][] = [['contract'.padEnd(24), 'sent', 'answered 204', 'crashed (5xx)', 'hung']];

const day = fc
  .date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString().slice(0, 10));
const nearDay = fc.oneof(
  day,
  fc.constantFrom(
    '2026-11-26',
    '2026-11-27',
    '2026-11-28',
    '2026-11-29',
    '9999-12-31',
    '0000-01-01',
    '2026-02-29',
    '2026-13-01',
    '26-11-2026',
    '',
  ),
);
const anyJson = fc.jsonValue();
const rawBytes = fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes));

const triggers = fc.oneof(
  anyJson,
  rawBytes,
  fc.record({ date: nearDay }, { requiredKeys: [] }),
  fc.record({ days_back: fc.oneof(fc.integer({ min: -5, max: 5000 }), fc.double(), fc.string()) }),
  fc.record(
    {
      start_date: nearDay,
      end_date: nearDay,
      kpis: fc.array(fc.constantFrom('daily_user_panel', 'installs', 'nope', ''), { maxLength: 3 }),
      dry_run: fc.oneof(fc.boolean(), fc.string()),
    },
    { requiredKeys: [] },
  ),
  fc.dictionary(fc.string({ maxLength: 12 }), anyJson, { maxKeys: 4 }),
);

const completion = fc.record(
  {
    run_id: fc.oneof(fc.string(), fc.constant('etl-1')),
    job_name: fc.constantFrom('daily_kpis', 'other', ''),
    status: fc.constantFrom('succeeded', 'failed', 'done'),
    start_date: nearDay,
    end_date: nearDay,
    dates: fc.array(nearDay, { maxLength: 3 }),
    tables: fc.array(fc.string(), { maxLength: 2 }),
    error: fc.oneof(fc.constant(null), fc.string()),
    started_at: fc.oneof(
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      fc.string(),
    ),
    finished_at: fc.oneof(
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      fc.string(),
    ),
    dry_run: fc.oneof(fc.boolean(), fc.constant('no')),
  },
  { requiredKeys: [] },
);
const completions = fc.oneof(anyJson, rawBytes, completion);

async function deliver(url: string, payload: unknown): Promise<number | 'hung'> {
  const event =
    payload instanceof Buffer
      ? pubsubEvent('', { publishTime: NOW })
      : pubsubEvent(typeof payload === 'string' ? JSON.stringify(payload) : payload, { publishTime: NOW });
  const body =
    payload instanceof Buffer
      ? event.body.replace(/"data":"[^"]*"/, `"data":"${payload.toString('base64')}"`)
      : event.body;
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: event.headers,
      body,
      signal: AbortSignal.timeout(ANSWER_WITHIN_MS),
    });
    await response.arrayBuffer();
    return response.status;
  } catch (error) {
    if ((error as Error).name === 'TimeoutError') return 'hung';
    throw error;
  }
}

test.each([
  ['trigger -> etl', 'etl', triggers],
  ['completed -> kpiMonitor', 'kpiMonitor', completions],
  ['completed -> logMonitor', 'logMonitor', completions],
  ['heartbeat -> logMonitor', 'logMonitor', fc.oneof(fc.constant({}), anyJson, rawBytes)],
] as const)(
  '%s: every generated payload is answered, and none crashes the function',
  async (name, target, payloads) => {
    const outcomes = await withFunctionServer(target, async (url) => {
      const seen: (number | 'hung')[] = [];
      await fc.assert(
        fc.asyncProperty(payloads as fc.Arbitrary<unknown>, async (payload) => {
          seen.push(await deliver(url, payload));
        }),
        { numRuns: RUNS },
      );
      return seen;
    });
    const count = (test: (outcome: number | 'hung') => boolean) => String(outcomes.filter(test).length);
    figures.push([
      name.padEnd(24),
      String(outcomes.length),
      count((o) => o === 204),
      count((o) => typeof o === 'number' && o >= 500),
      count((o) => o === 'hung'),
    ]);
    expect(outcomes.filter((outcome) => outcome !== 204)).toEqual([]);
    // A valid heartbeat or trigger runs the whole monitor or ETL: allow for it at every size, and
    // for one delivery waiting out the hang bound.
  },
  30_000 + ANSWER_WITHIN_MS + RUNS * 300,
);
