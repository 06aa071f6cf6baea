/**
 * What the CLI prints of data: labels cut to a fixed width, control and bidi characters shown as
 * `\uXXXX`, never run by the terminal; --json keeps the values whole and stays valid JSON.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { table } from '../../cli/command';
import { alertSegment } from '../../shared/alerts/alert';
import type { Io } from '../../cli/context';
import { run } from '../../cli/main';
import { checkRows, messageLine } from '../../cli/output';
import { DISPLAY_WIDTH } from '../../shared/format';
import type { CheckResult } from '../../shared/monitor/detect';
import { DuckDbWarehouse } from '../../shared/warehouse/duckdb';
import type { Row } from '../../shared/warehouse/warehouse';
import { tempDir } from '../helpers/history';
import { HOSTILE_NAMES, hostileHistory, TERMINAL_CONTROL } from '../helpers/hostile';
import { SOURCE } from '../helpers/warehouse';

const NOW = '2026-11-27T06:00:00Z';

function result(segment: string): CheckResult {
  return {
    check: 'events_by_name',
    segment,
    date: '2026-11-26',
    metric: 400,
    previous_metric: 40,
    change: 9,
    score: null,
    raise_flag: true,
    verdict: 'raised',
    method: 'weekday',
    direction: 'both',
    threshold: 0.3,
    band: null,
    trend: null,
    failure: null,
    severity: 'warn',
    message: `events_by_name[${segment}] on 2026-11-26: 400 against 40`,
    table: null,
  };
}

async function kpis(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    env: { ...process.env, KPIS_WAREHOUSE: '', KPIS_NOW: NOW, ...env },
  };
  const code = await run(args, io);
  return { code, stdout, stderr };
}

test('a table of results is as wide as its fixed widths, whatever the names: a 100,000-character one is cut with an ellipsis', () => {
  const rows = checkRows([result('n'.repeat(100_000)), result('short')]);
  const lines = table(['date', 'check', 'value', 'baseline', 'change', 'method', 'result'], rows, [0, 1, 5, 6]).split(
    '\n',
  );
  for (const line of lines) expect(line.length).toBeLessThan(DISPLAY_WIDTH.label + 80);
  expect(rows[0]?.[1]).toBe(`events_by_name[${'n'.repeat(DISPLAY_WIDTH.label - 'events_by_name['.length - 1)}…`);
});

test('a cell shows control characters, newlines and bidi controls as \\uXXXX', () => {
  const [row] = checkRows([result('a\u001b]0;t\u0007b\nc\u202ed')]);
  expect(row?.[1]).toBe('events_by_name[a\\u001b]0;t\\u0007b\\u000ac\\u202ed]');
});

describe('kpis monitor on a warehouse whose event names try to drive the terminal', () => {
  const dir = tempDir('kpis-hostile-cli-');
  const file = path.join(dir, 'w.duckdb');
  const env = { KPIS_TOPICS_DIR: path.join(dir, 'topics') };
  const NAMES = [...HOSTILE_NAMES, 'L'.repeat(5_000)];
  const args = ['monitor', '--date', '2026-11-26', '--checks', 'events_by_name', '--warehouse', `duckdb:${file}`];

  beforeAll(async () => {
    const warehouse = await DuckDbWarehouse.open(file);
    try {
      await fill(warehouse, hostileHistory(NAMES, '2026-11-27', 35, HOSTILE_NAMES[1] as string));
    } finally {
      await warehouse.close();
    }
    // The check reads the raw events, and judges a day only once the ETL built it.
    const etl = await kpis(['etl', '--from', '2026-10-23', '--to', '2026-11-26', '--warehouse', `duckdb:${file}`], env);
    if (etl.code !== 0) throw new Error(etl.stderr);
  });

  test('the human output holds no control or bidi character, and names every raised segment', async () => {
    const shown = await kpis([...args, '--dry-run'], env);
    expect(shown.code).toBe(0);
    expect(shown.stdout.match(TERMINAL_CONTROL)).toBeNull();
    expect(shown.stderr.match(TERMINAL_CONTROL)).toBeNull();
    expect(shown.stdout).toContain('events_by_name[\\u001b]0;pwned\\u0007\\u001b[2J');
    expect(shown.stdout.match(/RAISED/g)).toHaveLength(NAMES.length);
    // Every line is bounded, the 5,000-character name's `!` line too.
    for (const line of shown.stdout.split('\n')) expect(line.length).toBeLessThanOrEqual(DISPLAY_WIDTH.message + 2);
  });

  test('--json keeps every name whole up to 256 characters, the same values parsed back; a longer one keeps its start, length and hash, as alerts do', async () => {
    const shown = await kpis([...args, '--dry-run', '--json'], env);
    expect(shown.stdout.match(TERMINAL_CONTROL)).toBeNull();
    const results = JSON.parse(shown.stdout) as CheckResult[];
    expect(new Set(results.map((r) => r.segment))).toEqual(new Set(NAMES.map(alertSegment)));
    expect(NAMES.filter((name) => alertSegment(name) !== name).map((name) => name.length)).toEqual([5000]);
  });

  test('a KPIS_TOPICS_DIR that is a file: one clear line, exit 1, no stack trace', async () => {
    const notFolder = path.join(tempDir('kpis-topics-file-'), 'topics');
    writeFileSync(notFolder, 'not a folder');
    const failed = await kpis(args, { KPIS_TOPICS_DIR: notFolder });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toBe(
      `kpis monitor: cannot write the local topic file ${notFolder}/daily-kpis-alerts.jsonl (folder $KPIS_TOPICS_DIR, default .data/topics): a part of its path is a file (EEXIST)\n`,
    );
  });
});

test('any table cuts a cell to DISPLAY_WIDTH.message and keeps it on one line', () => {
  const lines = table(['check', 'detail'], [['job', `a\nb${'x'.repeat(10_000)}`]], [0, 1]).split('\n');
  expect(lines).toHaveLength(2);
  expect(lines[1]).toBe(`job    a\\u000ab${'x'.repeat(DISPLAY_WIDTH.message - 9)}…`);
  expect(messageLine(`m\r${'y'.repeat(10_000)}`)).toHaveLength(DISPLAY_WIDTH.message);
});

/** Rows straight into the source table, as a warehouse filled by something else than kpis load-events has them. */
async function fill(warehouse: DuckDbWarehouse, rows: Row[]): Promise<void> {
  await warehouse.ensureTable(SOURCE);
  await warehouse.appendRows(SOURCE, rows);
}
