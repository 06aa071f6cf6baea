/**
 * The cohort triangle of the retention check (shared/report/cohorts.ts): cohort rows by N, from the
 * check's DN series, and the page that shows it under the check's charts.
 */
import { cohortTriangle, cohortTriangleHtml } from '../../../shared/report/cohorts';
import type { SeriesPoint } from '../../../shared/report/charts';
import { renderReportPage } from '../../../shared/report/page';
import { checkAnchor, type ReportData } from '../../../shared/report/report';

const point = (date: string, value: number | null, status: SeriesPoint['status'] = 'ok'): SeriesPoint => ({
  date,
  value,
  baseline: null,
  low: null,
  high: null,
  status,
  label: null,
});

/** D1 judged on 11-02..11-04 (cohorts 11-01..11-03); D7 on 11-08 (cohort 11-01); D7 before that had no row. */
const SERIES = [
  { segment: 'D1', points: [point('2026-11-02', 0.4), point('2026-11-03', 0.3), point('2026-11-04', 0.2, 'raised')] },
  { segment: 'D7', points: [point('2026-11-07', 0, 'no_verdict'), point('2026-11-08', 0.1)] },
];

test('a DN series becomes the cells of the cohort N days before, newest cohort first; a day without a row makes no cell', () => {
  expect(cohortTriangle(SERIES)).toEqual({
    ns: [1, 7],
    rows: [
      { cohort: '2026-11-03', cells: [0.2, null] },
      { cohort: '2026-11-02', cells: [0.3, null] },
      { cohort: '2026-11-01', cells: [0.4, 0.1] },
    ],
  });
});

test('a check whose segments are not all DN (or that has none) has no triangle', () => {
  expect(cohortTriangle([{ segment: null, points: [point('2026-11-02', 1)] }])).toBeNull();
  expect(cohortTriangle([...SERIES, { segment: 'ios', points: [] }])).toBeNull();
  expect(cohortTriangle([])).toBeNull();
});

test('cells are percentages shaded by their column: the highest rate of a column is the darkest', () => {
  const html = cohortTriangleHtml(cohortTriangle(SERIES) as NonNullable<ReturnType<typeof cohortTriangle>>);
  expect(html).toContain('<tr><th>install cohort</th><th>D1</th><th>D7</th></tr>');
  expect(html).toContain(
    '<tr><td>2026-11-01</td><td style="background:hsl(210,70%,55%)">40.0%</td><td style="background:hsl(210,70%,55%)">10.0%</td></tr>',
  );
  expect(html).toContain('<tr><td>2026-11-03</td><td style="background:hsl(210,70%,76%)">20.0%</td><td></td></tr>');
});

test('the page shows the triangle under the retention check, and none under other checks', async () => {
  const data: ReportData = {
    range: { start: '2026-11-01', end: '2026-11-08' },
    pipelineRange: { start: '2026-11-01', end: '2026-11-08' },
    timeZone: 'UTC',
    generatedAt: '2026-11-09T06:00:00Z',
    source: 'test',
    checks: [
      { name: 'retention', description: 'DN retention', method: 'weekday', series: SERIES, error: null, raised: 1 },
      {
        name: 'dau',
        description: 'DAU',
        method: 'weekday',
        series: [{ segment: null, points: [point('2026-11-02', 100)] }],
        error: null,
        raised: 0,
      },
    ],
    runs: [],
    missingDays: [],
    runLogError: null,
    alerts: [],
    alertsError: null,
  };
  const html = await renderReportPage(data);
  const article = (name: string): string => {
    const start = html.indexOf(`<article class="check" id="${checkAnchor(name)}">`);
    return html.slice(start, html.indexOf('</article>', start));
  };
  expect(article('retention')).toContain('<table class="cohorts">');
  expect(article('dau')).not.toContain('<table class="cohorts">');
});
