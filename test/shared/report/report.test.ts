/**
 * The report on the real DuckDB engine: the chart specs and their SVG (one mark per day, raised
 * days labelled, the band where the method puts it), the page as a whole, and bad input: an empty
 * warehouse, a range without data, a check whose query fails.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadKpiChecks, type KpiCheck } from '../../../shared/config/kpi-checks';
import { addDays, daysBetween } from '../../../shared/dates';
import { runEtl } from '../../../shared/etl/run-etl';
import { evaluate, type KpiSeries } from '../../../shared/monitor/detect';
import { checkChartSpec, pipelineChartSpec, weekendSpans } from '../../../shared/report/charts';
import { renderReportPage, writeReport } from '../../../shared/report/page';
import { renderSvg } from '../../../shared/report/render';
import { chartAnchor, reportData, type ReportData } from '../../../shared/report/report';
import { DISPLAY_WIDTH } from '../../../shared/format';
import type { DuckDbWarehouse } from '../../../shared/warehouse/duckdb';
import { historyWithAnomalies, tempDir } from '../../helpers/history';
import { appendEvents } from '../../../shared/events/load-events';
import { etlDeps, openMemoryWarehouse, shippedJob, SOURCE } from '../../helpers/warehouse';

const context = { job: 'report', runId: 'report-test' };
const NOW = new Date('2026-11-27T06:00:00Z');
const RANGE = { start: '2026-10-31', end: '2026-11-26' };
/** Each mark the SVG describes for a day: `<day>: ...`. */
const dayLabels = (svg: string): string[] =>
  [...svg.matchAll(/aria-label="(\d{4}-\d{2}-\d{2}): [^"]*"/g)].map((match) => match[1] as string);

describe('the chart of a series, from a known history', () => {
  // Four weeks of 1,000 a day and 1,300 on the last: weekday's baseline is the median of the earlier same weekdays.
  const days = daysBetween('2026-10-29', '2026-11-26');
  const series: KpiSeries = {
    firstDay: days[0] as string,
    segment: null,
    points: new Map(
      days.map((day) => [day, { value: day === '2026-11-26' ? 1300 : 1000, active: true, present: true }]),
    ),
  };
  const check = {
    ...(loadKpiChecks().find((c) => c.name === 'dau') as KpiCheck),
    thresh_in_percent: 0.15,
    min_value: 0,
    direction: 'both' as const,
  };

  test('the band is the baseline ± the threshold, for the method the check uses', () => {
    const result = evaluate(check, series, '2026-11-26');
    expect(result).toMatchObject({ verdict: 'raised', previous_metric: 1000, band: { low: 850, high: 1150 } });
    expect(evaluate({ ...check, direction: 'spike' }, series, '2026-11-26').band).toEqual({ low: null, high: 1150 });
    expect(evaluate({ ...check, min_value: 400 }, series, '2026-11-26')).toMatchObject({
      verdict: 'ok',
      band: { low: 600, high: 1400 },
    });
    // zscore: the training mean ± sensitivity standard deviations, the deviation the score was measured in.
    const alternating: KpiSeries = {
      ...series,
      points: new Map(
        days.map((day, index) => [
          day,
          { value: day === '2026-11-26' ? 1300 : index % 2 === 0 ? 900 : 1100, active: true, present: true },
        ]),
      ),
    };
    const zscore = evaluate(
      { ...check, method: 'zscore', sensitivity: 2, training_days: 28 },
      alternating,
      '2026-11-26',
    );
    const mean = zscore.previous_metric as number;
    const deviation = (1300 - mean) / (zscore.score as number);
    expect(deviation).toBeGreaterThan(95);
    expect(deviation).toBeLessThan(105);
    expect(zscore.band?.low).toBeCloseTo(mean - 2 * deviation, 1);
    expect(zscore.band?.high).toBeCloseTo(mean + 2 * deviation, 1);
  });

  test('the SVG has a mark for every day, the raised day labelled with its change, and the band drawn', async () => {
    const points = days.slice(1).map((day) => {
      const result = evaluate(check, series, day);
      const raised = result.verdict === 'raised';
      return {
        date: day,
        value: result.metric,
        baseline: result.previous_metric,
        low: result.band?.low ?? null,
        high: result.band?.high ?? null,
        status: result.verdict === 'error' ? 'error' : result.verdict,
        label: raised ? '+30%' : null,
      } as const;
    });
    const spec = checkChartSpec('dau', points);
    const rows = ((spec.layer as { layer?: { name: string }[]; data?: { values: Record<string, unknown>[] } }[])[1]
      ?.data?.values ?? []) as Record<string, unknown>[];
    expect(rows.find((row) => row.date === '2026-11-26')).toMatchObject({
      status: 'raised',
      band_low: 850,
      band_high: 1150,
      baseline: 1000,
    });
    const svg = await renderSvg(spec);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(dayLabels(svg)).toEqual(points.filter((point) => point.value !== null).map((point) => point.date));
    expect(svg).toContain('aria-label="2026-11-26: 1,300 against 1,000, raised +30%"');
    expect(svg).toContain('>+30%</text>');
    // The band is one area mark; the weekends one rect per Saturday and Sunday.
    expect(svg).toMatch(/class="mark-area role-mark [^"]*band/);
    expect((svg.match(/<path[^>]*fill="#f2f2f2"/g) ?? []).length).toBe(weekendSpans(days.slice(1)).length);
  });

  test('the pipeline chart: a tick per run, described, and the days no run built', async () => {
    const svg = await renderSvg(
      pipelineChartSpec(
        [
          {
            run_id: 'a',
            start: '2026-11-20T06:00:00.000Z',
            end: '2026-11-20T06:01:00.000Z',
            status: 'succeeded',
            label: 'run a: succeeded, 2026-11-19..2026-11-20',
          },
          {
            run_id: 'b',
            start: '2026-11-22T06:00:00.000Z',
            end: '2026-11-22T06:00:30.000Z',
            status: 'failed',
            label: 'run b: failed, 2026-11-21..2026-11-22',
          },
        ],
        ['2026-11-21'],
        { start: '2026-11-19', end: '2026-11-23' },
      ),
    );
    expect(svg).toContain('aria-label="run a: succeeded, 2026-11-19..2026-11-20"');
    expect(svg).toContain('aria-label="run b: failed, 2026-11-21..2026-11-22"');
    expect(svg).toContain('aria-label="2026-11-21: no successful run"');
  });
});

describe('the report of a warehouse', () => {
  let warehouse: DuckDbWarehouse;
  beforeEach(async () => {
    warehouse = await openMemoryWarehouse();
  });
  afterEach(() => warehouse.close());

  const request = { range: RANGE, generatedAt: NOW, source: 'DuckDB :memory:' };
  const checks = () => loadKpiChecks().filter((check) => check.isEnable);

  async function withHistory(): Promise<ReportData> {
    await appendEvents(
      warehouse,
      SOURCE,
      historyWithAnomalies('2026-11-27', 70, { '2026-11-12': 'new_users_spike', '2026-11-19': 'empty' }),
      context,
    );
    const outcome = await runEtl(etlDeps(warehouse), shippedJob, {
      range: { start: addDays('2026-11-27', -69), end: '2026-11-26' },
      runId: 'history',
      username: 'test',
    });
    expect(outcome.failure).toBeUndefined();
    return reportData(warehouse, shippedJob, checks(), request, context);
  }

  test('every enabled check is charted, segments apart; the planted anomalies are the raised days; the run is on the pipeline chart', async () => {
    const data = await withHistory();
    expect(data.checks.map((check) => check.name)).toEqual(checks().map((check) => check.name));
    expect(data.checks.every((check) => check.error === null)).toBe(true);
    const installs = data.checks.find((check) => check.name === 'installs');
    expect(
      installs?.series[0]?.points.filter((point) => point.status === 'raised').map((point) => point.date),
    ).toContain('2026-11-12');
    const dau = data.checks.find((check) => check.name === 'dau');
    expect(dau?.series[0]?.points.find((point) => point.date === '2026-11-19')).toMatchObject({
      status: 'lost',
      value: 0,
      label: 'lost',
    });
    const byName = data.checks.find((check) => check.name === 'events_by_name');
    expect((byName?.series.length ?? 0) > 1).toBe(true);
    expect(
      byName?.series.every(
        (series) => series.segment !== null && series.points.length === daysBetween(RANGE.start, RANGE.end).length,
      ),
    ).toBe(true);
    expect(data.runs).toEqual([expect.objectContaining({ run_id: 'history', status: 'succeeded' })]);
    expect(data.missingDays).toEqual([]);

    const html = await renderReportPage(data);
    // Self-contained: no script, no stylesheet or image to fetch, no URL but in-page anchors (and SVG's namespace names).
    expect(html.replace(/xmlns(:xlink)?="http:\/\/www\.w3\.org\/[^"]+"/g, '')).not.toMatch(
      /<script|<link|<img|src=|url\(|https?:\/\//i,
    );
    for (const check of data.checks) expect(html).toContain(`id="check-${check.name}"`);
    expect((html.match(/<svg/g) ?? []).length).toBe(
      1 + data.checks.reduce((sum, check) => sum + check.series.length, 0),
    );
  });

  test('an empty warehouse gives a report that says so, not a broken page', async () => {
    const file = path.join(tempDir('kpis-report-'), 'empty.html');
    const written = await writeReport(warehouse, shippedJob, checks(), request, file, context);
    expect(written.failed).toEqual(checks().map((check) => check.name));
    const html = readFileSync(file, 'utf8');
    expect(html).toContain('No runs to show: the run log does not exist in this warehouse yet.');
    expect(html).toContain('No alerts to show: the alert history does not exist in this warehouse yet.');
    expect(html).toMatch(/class="error">dau: the check failed and was not judged/);
    expect(html.trimEnd().endsWith('</html>')).toBe(true);
  });

  test('a range without data says so; a check whose query fails says why and the others are charted', async () => {
    const data = await withHistory();
    const empty = await reportData(
      warehouse,
      shippedJob,
      checks(),
      { ...request, range: { start: '2025-01-01', end: '2025-01-31' } },
      context,
    );
    expect(await renderReportPage(empty)).toContain('No data in this range');

    const folder = tempDir('kpis-report-broken-');
    mkdirSync(path.join(folder, 'custom'));
    writeFileSync(
      path.join(folder, 'custom', 'broken.sql'),
      'SELECT date AS day, SUM(no_such_column) AS value\nFROM {{daily_kpis.daily_user_panel}}\nWHERE date BETWEEN @start_date AND @end_date\nGROUP BY date\n',
    );
    writeFileSync(
      path.join(folder, 'kpis_config.json'),
      JSON.stringify({ kpis: { dau: { metric: 'dau' }, broken: { sql: 'custom/broken.sql' } } }),
    );
    const mixed = await reportData(
      warehouse,
      shippedJob,
      loadKpiChecks(path.join(folder, 'kpis_config.json')),
      request,
      context,
    );
    expect(mixed.checks.find((check) => check.name === 'broken')?.error).toContain('no_such_column');
    expect(mixed.checks.find((check) => check.name === 'dau')?.series[0]?.points).toHaveLength(
      data.checks[0]?.series[0]?.points.length ?? -1,
    );
    const html = await renderReportPage(mixed);
    expect(html).toMatch(/<article class="check" id="check-broken">.*class="error">broken: the check failed/s);
  });
});

describe('names from data, as the page shows them', () => {
  const RLO = 'abc\u202eevil.exe';
  const LONG = 'n'.repeat(200_000);
  const point = (date: string) => ({
    date,
    value: 10,
    baseline: 10,
    low: 8,
    high: 12,
    status: 'ok' as const,
    label: null,
  });
  const page = (segments: string[]): ReportData => ({
    range: { start: '2026-11-25', end: '2026-11-26' },
    pipelineRange: { start: '2026-11-25', end: '2026-11-26' },
    timeZone: 'UTC',
    generatedAt: NOW.toISOString(),
    source: 'DuckDB :memory:',
    checks: [
      {
        name: 'events_by_name',
        description: '',
        method: 'weekday',
        series: segments.map((segment) => ({ segment, points: [point('2026-11-25'), point('2026-11-26')] })),
        error: null,
        raised: 1,
      },
    ],
    runs: [],
    missingDays: [],
    runLogError: null,
    alerts: segments.map((segment) => ({
      alert_id: `kpi:events_by_name:${segment}:2026-11-26`,
      kind: 'kpi',
      check: 'events_by_name',
      segment,
      date: '2026-11-26',
      severity: 'warn',
      message: `events_by_name[${segment}] on 2026-11-26: 10 against 10`,
    })),
    alertsError: null,
  });

  test('segments that slug alike (punctuation, another script) get anchors of their own, and each alert links to its own chart', async () => {
    const alike = ['a.b', 'a-b', 'a b', 'a/b', 'aé', 'aè', 'a', 'a-'];
    expect(new Set(alike.map((segment) => chartAnchor('events_by_name', segment))).size).toBe(alike.length);
    const html = await renderReportPage(page(alike));
    const ids = [...html.matchAll(/<div class="chart" id="([^"]+)"/g)].map((match) => match[1]);
    const links = [...html.matchAll(/<a href="#([^"]+)"/g)].map((match) => match[1]);
    expect(new Set(ids).size).toBe(alike.length);
    expect(links).toEqual(ids);
  });

  test('a right-to-left override shows as \\u202e, never acts; an inline name is isolated in <bdi>', async () => {
    const html = await renderReportPage(page([RLO]));
    expect(html).not.toContain('\u202e');
    expect(html).toContain('abc\\u202eevil.exe');
    expect(html).toMatch(/<a href="#chart-[^"]+"><bdi>events_by_name\[abc\\u202eevil\.exe\]<\/bdi><\/a>/);
    expect(html).toContain('<h3><bdi>events_by_name</bdi>');
  });

  test('a 200,000-character segment is cut to the label width in the chart title, the link and the anchor', async () => {
    const html = await renderReportPage(page([LONG]));
    expect(html).not.toContain('n'.repeat(DISPLAY_WIDTH.message));
    expect(html.length).toBeLessThan(100_000);
    const link = /<a href="#chart-[^"]+"><bdi>(events_by_name\[n+…)<\/bdi><\/a>/.exec(html)?.[1];
    expect(link).toHaveLength(DISPLAY_WIDTH.label);
    expect(chartAnchor('events_by_name', LONG).length).toBeLessThan(100);
  });
});
