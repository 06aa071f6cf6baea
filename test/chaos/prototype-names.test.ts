/**
 * Generated names that an object answers for: config keys, check names, table names, schema
 * columns, SQL placeholders and message keys drawn from Object.prototype's own property names
 * (`constructor`, `toString`, `__proto__`, `hasOwnProperty`, ...) plus `prototype`, mixed with
 * ordinary ones. A config loads, or is refused with a ConfigError naming the file and the path;
 * a loaded config renders SQL with no native function in it; a message runs, or is acknowledged
 * as a bad message with its reason (one holding a reserved key always is, and writes nothing).
 * Never a TypeError, a stack trace or a 5xx. And each of those names as an event name is loaded,
 * built and judged as a segment of its own. `npm test` generates CHAOS_RUNS / 10 config files of
 * each kind (default 15) and CHAOS_RUNS / 5 messages per contract (default 30); `npm run chaos`
 * (CHAOS_RUNS=10,000) 1,000 files of each kind and 2,000 messages per contract.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { configuredTables, loadEtlConfig } from '../../shared/config/etl-config';
import { loadKpiChecks, selectChecks } from '../../shared/config/kpi-checks';
import { loadLogChecks } from '../../shared/config/log-checks';
import { isReservedName } from '../../shared/config/names';
import { checkQueryValues, tableQueryValues } from '../../shared/config/table-sql';
import { ConfigError } from '../../shared/errors';
import { appendEvents } from '../../shared/events/load-events';
import { createLogger, silentLogger } from '../../shared/log';
import { LocalTopicPublisher, TOPICS } from '../../shared/messaging/publisher';
import type { FunctionRuntime } from '../../shared/pipeline/function-runtime';
import { renderTemplate } from '../../shared/sql';
import { post, pubsubEvent, useFunctionRuntime, withFunctionServer } from '../helpers/functions';
import { historyWithAnomalies, tempDir, topicMessages } from '../helpers/history';
import { context, etlDeps, openMemoryWarehouse, shippedJob, SOURCE } from '../helpers/warehouse';
import { runEtl } from '../../shared/etl/run-etl';
import { runKpiMonitor } from '../../shared/monitor/kpi-monitor';

const CHAOS_RUNS = Number(process.env.CHAOS_RUNS ?? 150);
const FILES = Math.max(10, Math.round(CHAOS_RUNS / 10));
const MESSAGES = Math.max(20, Math.round(CHAOS_RUNS / 5));
const NOW = '2026-11-27T06:00:00.000Z';
const figures: string[] = [];

/** Object.prototype's own names (with __proto__), `prototype`, and a few ordinary names. */
const PROTOTYPE_NAMES = [...Object.getOwnPropertyNames(Object.prototype), 'prototype'];
const prototypeName = fc.constantFrom(...PROTOTYPE_NAMES);
const name = fc.oneof(
  { weight: 3, arbitrary: prototypeName },
  { weight: 1, arbitrary: fc.constantFrom('dau', 'installs', 'coins', 'daily_user_panel') },
);
/** Whether generated JSON text holds a reserved name as a key (as a value it is an ordinary bad name). */
const hasReserved = (text: string): boolean =>
  PROTOTYPE_NAMES.filter(isReservedName).some((reserved) => text.includes(`${JSON.stringify(reserved)}:`));

/** A JSON object written as text from its entries: `__proto__` stays an own key, as JSON.parse reads it. */
const objectText = (entries: [string, string][]): string =>
  `{${entries.map(([key, value]) => `${JSON.stringify(key)}: ${value}`).join(', ')}}`;
/** Keys unique per object: JSON.parse keeps the last of two equal keys, which would hide the first. */
const entries = (key: fc.Arbitrary<string>, value: fc.Arbitrary<string>, maxLength = 3) =>
  fc.uniqueArray(fc.tuple(key, value), { minLength: 1, maxLength, selector: ([name]) => name }).map(objectText);
const scalar = fc.constantFrom('true', '1', '"x"', '"check.sql"', '"table.sql"', 'null', '{}').map(String);

describe('generated config files', () => {
  const dir = tempDir('kpis-chaos-names-');
  const placeholder = fc.oneof(name, fc.constantFrom('source', 'daily_kpis.installs'));
  writeFileSync(
    path.join(dir, 'check.sql'),
    'SELECT date AS day, COUNT(*) AS value FROM {{daily_user_panel}} GROUP BY date',
  );

  // A table entry: the built-in form, its own SQL (whose placeholders and schema use the names), or stray fields.
  const customTable = name.map(
    (column) =>
      `{"sql": "table.sql", "strategy": "replace_days", "schema": {"date": "DATE", ${JSON.stringify(column)}: "INT64"}}`,
  );
  const tableEntry = fc.oneof(fc.constant('{}'), customTable, entries(name, scalar));
  const etlConfig = fc
    .tuple(name, entries(name, tableEntry))
    .map(([group, tables]) => objectText([[group, objectText([['kpis', tables]])]]));
  const checkEntry = fc.oneof(
    fc.constant('{}'),
    fc.constant('{"sql": "check.sql"}'),
    name.map((table) => `{"table_id": ${JSON.stringify(table)}, "date_column": "date", "value": "SUM(n)"}`),
    name.map((metric) => `{"metric": ${JSON.stringify(metric)}}`),
    entries(name, scalar),
  );
  const kpisConfig = fc.oneof(
    entries(fc.constantFrom('kpis'), entries(name, checkEntry)),
    fc
      .tuple(name, entries(name, checkEntry))
      .map(([group, checks]) => objectText([[group, objectText([['kpis', checks]])]])),
  );
  const logEntry = fc.oneof(
    fc.constant('{"thresh_in_hours": 26}'),
    name.map((job) => `{"thresh_in_hours": 2, "job_name": ${JSON.stringify(job)}}`),
    entries(name, scalar),
  );
  const logConfig = fc.oneof(
    entries(fc.constantFrom('logs'), entries(name, logEntry)),
    fc
      .tuple(name, entries(name, logEntry))
      .map(([group, alerts]) => objectText([[group, objectText([['alerts', alerts]])]])),
  );

  const tableRef = (dataset: string, table: string) => `${dataset}.${table}`;
  /** Renders every query of what loaded: a native function must never reach the SQL. */
  const renderAll = (loaded: unknown): string[] => {
    if (!Array.isArray(loaded) && typeof loaded === 'object' && loaded !== null && 'tables' in loaded) {
      const job = loaded as ReturnType<typeof loadEtlConfig>;
      return job.tables.map((table) =>
        renderTemplate(table.query, tableQueryValues({ tableRef }, table, configuredTables(job))),
      );
    }
    if (Array.isArray(loaded) && loaded.every((check) => typeof check === 'object' && 'query' in (check as object))) {
      const checks = loaded as ReturnType<typeof loadKpiChecks>;
      for (const check of checks)
        expect(selectChecks(checks, [check.name]).map((selected) => selected.name)).toEqual([check.name]);
      return checks.map((check) => renderTemplate(check.query, checkQueryValues({ tableRef }, check)));
    }
    return [];
  };

  test.each([
    ['daily_kpis_config.json', etlConfig, (file: string) => loadEtlConfig(file)],
    ['kpis_config.json', kpisConfig, (file: string) => loadKpiChecks(file)],
    ['log_config.json', logConfig, (file: string) => loadLogChecks(file)],
  ] as const)(
    `${FILES} generated %s files with prototype names: each loads, or is refused naming the file and where`,
    (kind, config, load) => {
      let loaded = 0;
      let refused = 0;
      let reservedRefused = 0;
      fc.assert(
        fc.property(config, placeholder, (text, table) => {
          const file = path.join(dir, kind);
          writeFileSync(file, text);
          writeFileSync(
            path.join(dir, 'table.sql'),
            `SELECT DATE(time) AS date, COUNT(*) AS n FROM {{source}} JOIN {{${table}}} ON TRUE GROUP BY 1`,
          );
          try {
            const sql = renderAll(load(file));
            loaded += 1;
            expect(hasReserved(text)).toBe(false);
            for (const statement of sql) expect(statement).not.toMatch(/native code|function /);
          } catch (error) {
            refused += 1;
            if (!(error instanceof ConfigError)) throw error;
            expect(error.message.startsWith(`${file}: `)).toBe(true);
            expect(error.message).toMatch(/\$/);
            if (hasReserved(text)) {
              reservedRefused += 1;
              expect(error.message).toContain('is a reserved name');
            }
          }
        }),
        { numRuns: FILES, seed: 20261201 },
      );
      figures.push(
        `${kind}: ${FILES} generated, ${loaded} loaded, ${refused} refused with file and path (${reservedRefused} for a reserved name), 0 crashes`,
      );
    },
  );
});

describe('generated messages with prototype names as keys, over HTTP', () => {
  let dir: string;
  let runtime: FunctionRuntime;
  const logged: { severity: string; message: string }[] = [];

  beforeAll(async () => {
    dir = tempDir('kpis-chaos-names-');
    const env = {
      KPIS_WAREHOUSE: `duckdb:${path.join(dir, 'w.duckdb')}`,
      KPIS_PUBLISHER: 'local',
      KPIS_TOPICS_DIR: dir,
      KPIS_NOW: NOW,
    };
    runtime = useFunctionRuntime(env, {
      logger: createLogger({
        level: 'WARNING',
        write: (line) => logged.push(JSON.parse(line) as (typeof logged)[number]),
      }),
    });
    await appendEvents((await runtime.ports()).warehouse, SOURCE, historyWithAnomalies('2026-11-27', 7, {}), context);
  });
  afterAll(() => runtime.close());

  // Keys from the prototype's names and the contract's own, nested; a message is any such object.
  const key = fc.oneof(
    { weight: 3, arbitrary: prototypeName },
    { weight: 1, arbitrary: fc.constantFrom('dry_run', 'date', 'kpis', 'run_id', 'status') },
  );
  const leaf = fc.oneof(
    fc.constantFrom('true', '"2026-11-25"', '"succeeded"', '[]', '{}', 'null'),
    name.map((table) => JSON.stringify([table])),
  );
  const value = fc.letrec<{ value: string }>((tie) => ({
    value: fc.oneof({ depthSize: 'small' }, leaf, entries(key, tie('value'), 2)),
  })).value;
  const generated = entries(key, value, 4);
  // One in five is a valid message, so the figures show runs beside the rejections.
  const message = fc.oneof(
    { weight: 4, arbitrary: generated },
    { weight: 1, arbitrary: fc.constant('{"date": "2026-11-25"}') },
  );
  const valid = `"run_id": "etl-1", "job_name": "daily_kpis", "status": "succeeded", "start_date": "2026-11-25", "end_date": "2026-11-25", "dates": ["2026-11-25"], "tables": [], "error": null, "started_at": "${NOW}", "finished_at": "${NOW}", "dry_run": true`;
  // A valid completion event with the generated keys spliced in: only they can make it bad.
  const completion = fc.oneof(
    { weight: 4, arbitrary: generated.map((text) => `{${valid}, ${text.slice(1)}`) },
    { weight: 1, arbitrary: fc.constant(`{${valid}}`) },
  );

  test.each([
    ['trigger -> etl', 'etl', message, TOPICS.trigger],
    ['completed -> kpiMonitor', 'kpiMonitor', completion, TOPICS.completed],
    ['completed -> logMonitor', 'logMonitor', completion, TOPICS.completed],
  ] as const)(
    `${MESSAGES} generated %s messages: each is run or acknowledged as bad; one with a reserved key always is, and writes nothing`,
    async (contract, target, messages, topic) => {
      let sent = 0;
      let rejected = 0;
      let reservedRejected = 0;
      const statuses: number[] = [];
      await withFunctionServer(target, async (url) => {
        await fc.assert(
          fc.asyncProperty(messages, async (text) => {
            const before = {
              logged: logged.length,
              completions: topicMessages(dir, TOPICS.completed).length,
              alerts: topicMessages(dir, TOPICS.alerts).length,
            };
            statuses.push(await post(url, pubsubEvent(text, { publishTime: NOW, topic })));
            sent += 1;
            const lines = logged.slice(before.logged);
            // Anything but a bad message or a normal run is a crash: a TypeError is "failed permanently".
            expect(
              lines.filter(
                (line) =>
                  line.severity === 'ERROR' &&
                  line.message !== 'message rejected and acknowledged: it can never succeed',
              ),
            ).toEqual([]);
            const wasRejected = lines.some(
              (line) => line.message === 'message rejected and acknowledged: it can never succeed',
            );
            if (wasRejected) rejected += 1;
            if (hasReserved(text)) {
              expect(wasRejected).toBe(true);
              reservedRejected += 1;
              expect(topicMessages(dir, TOPICS.completed).length).toBe(before.completions);
              expect(topicMessages(dir, TOPICS.alerts).length).toBe(before.alerts);
            }
          }),
          { numRuns: MESSAGES, seed: 20261201 },
        );
      });
      expect(statuses.filter((status) => status !== 204)).toEqual([]);
      figures.push(
        `${contract}: ${sent} sent, ${rejected} acknowledged as bad (${reservedRejected} for a reserved key), ${sent - rejected} run, 0 crashes (5xx or TypeError)`,
      );
    },
    30_000 + MESSAGES * 100,
  );
});

describe('event names from data that an object answers for', () => {
  test("each of Object.prototype's names, and prototype, is an event name: loaded, built and judged as its own segment", async () => {
    const warehouse = await openMemoryWarehouse();
    try {
      const history = historyWithAnomalies('2026-11-27', 21, {});
      // Every fifth event renamed, cycling through the names, so each is a segment with a series.
      const renamed = history.map((row, index) =>
        index % 5 === 0 ? { ...row, event_name: PROTOTYPE_NAMES[(index / 5) % PROTOTYPE_NAMES.length] as string } : row,
      );
      await appendEvents(warehouse, SOURCE, renamed, context);
      const built = await runEtl(etlDeps(warehouse), shippedJob, {
        range: { start: '2026-11-06', end: '2026-11-27' },
        runId: 'etl-names',
        username: 'test',
      });
      expect(built.result).toMatchObject({ status: 'succeeded', error: null });
      const checks = loadKpiChecks().filter((check) => check.name === 'events_by_name');
      const deps = {
        warehouse,
        publisher: new LocalTopicPublisher(tempDir(), () => new Date(NOW)),
        slackWebhook: async () => null,
        clock: () => new Date(NOW),
        logger: silentLogger,
      };
      const outcome = await runKpiMonitor(
        deps,
        checks.map((check) => ({ ...check, max_segments: 1000 })),
        { dates: ['2026-11-26'], runId: 'monitor-names', username: 'test', dryRun: true },
      );
      expect(outcome.results.filter((result) => result.verdict === 'error')).toEqual([]);
      const segments = new Set(outcome.results.map((result) => result.segment));
      expect(PROTOTYPE_NAMES.filter((event) => !segments.has(event))).toEqual([]);
      figures.push(
        `event names: ${PROTOTYPE_NAMES.length} prototype names as events, each judged as its own segment, 0 crashes`,
      );
    } finally {
      await warehouse.close();
    }
  });
});

afterAll(() => {
  process.stdout.write(`\nprototype names\n  ${figures.join('\n  ')}\n`);
});
