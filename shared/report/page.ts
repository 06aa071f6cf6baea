/**
 * The report as one self-contained HTML file: styles inline, charts inline as SVG, no script and
 * no URL to fetch, so it opens offline, from a mail, an attachment or a bucket.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { KpisError, toError, UsageError } from '../errors';
import { checkLabel } from '../monitor/detect';
import { checkChartSpec, pipelineChartSpec } from './charts';
import { cohortTriangle, cohortTriangleHtml } from './cohorts';
import { renderSvg } from './render';
import { DISPLAY_WIDTH, displayText } from '../format';
import { chartAnchor, checkAnchor, reportData, type ReportData } from './report';

const escape = (text: string): string =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

/**
 * Text from data or config as the page shows it: cut to `width` (DISPLAY_WIDTH), control and bidi
 * characters shown as \\uXXXX, HTML-escaped. Where it sits inline next to other text, it goes in
 * <bdi>, so a right-to-left name cannot reorder the rest of its line (a cell or a paragraph of its
 * own is isolated already).
 */
const shown = (text: string, width: number): string => escape(displayText(text, width));

/** A check's (or one segment's) label, cut for a heading or a chart title. */
const labelText = (check: string, segment: string | null): string =>
  displayText(checkLabel(check, segment), DISPLAY_WIDTH.label);

const STYLE = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; margin: 0; background: #fafafa; }
main { max-width: 1400px; margin: 0 auto; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; } h3 { font-size: 15px; margin: 0 0 2px; }
.meta, .note { color: #666; font-size: 12px; }
.summary { display: flex; gap: 12px; flex-wrap: wrap; margin: 16px 0; }
.tile { background: white; border: 1px solid #e3e3e3; border-radius: 6px; padding: 8px 14px; }
.tile b { display: block; font-size: 20px; }
.check { background: white; border: 1px solid #e3e3e3; border-radius: 6px; padding: 12px 14px; margin: 12px 0; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(700px, 1fr)); gap: 8px; }
.chart svg { max-width: 100%; height: auto; }
.error { color: #a93226; background: #fdedec; border-radius: 4px; padding: 6px 10px; }
.raised { color: #c0392b; font-weight: 600; }
table { border-collapse: collapse; width: 100%; background: white; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eee; vertical-align: top; font-size: 13px; }
.legend span { margin-right: 14px; white-space: nowrap; }
.cohorts { width: auto; margin-top: 8px; } .cohorts td, .cohorts th { text-align: right; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; vertical-align: middle; }
`;

/** A retention check's cohort triangle (shared/report/cohorts.ts), or nothing. */
function triangleOf(series: ReportData['checks'][number]['series']): string {
  const triangle = cohortTriangle(series);
  return triangle && triangle.rows.length > 0 ? cohortTriangleHtml(triangle) : '';
}

export async function renderReportPage(data: ReportData): Promise<string> {
  const { range } = data;
  const parts = [
    ...summaryParts(data),
    ...emptyNotes(data),
    ...(await pipelineParts(data)),
    ...(await checkParts(data)),
    ...alertParts(data),
  ];
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>daily-kpis report ${escape(range.start)}..${escape(range.end)}</title><style>${STYLE}</style></head><body><main>${parts.join('\n')}</main></body></html>\n`;
}

/** The title, the range and the summary's tiles. */
function summaryParts(data: ReportData): string[] {
  const { range } = data;
  const parts: string[] = [];
  const raisedDays = data.checks.reduce((sum, check) => sum + check.raised, 0);
  const failed = data.checks.filter((check) => check.error !== null);
  parts.push(
    `<header><h1>daily-kpis report</h1><div class="meta">${escape(range.start)} to ${escape(range.end)} (days in ${escape(data.timeZone)}) · ${escape(data.source)} · generated ${escape(data.generatedAt)}</div></header>`,
  );
  parts.push(
    `<section class="summary">${[
      ['checks', String(data.checks.length)],
      ['raised check-days', String(raisedDays)],
      ['check-days muted by the calendar', String(data.checks.reduce((sum, check) => sum + (check.muted ?? 0), 0))],
      ['checks that failed', String(failed.length)],
      ['alerts sent', String(data.alerts.filter((alert) => alert.status !== 'muted').length)],
      ['alerts resolved by late data', String(data.alerts.filter((alert) => alert.status === 'resolved').length)],
      ['ETL runs', String(data.runs.length)],
      ['days no run built', String(data.missingDays.length)],
      ['days restated (late events)', String(data.restatedDays?.length ?? 0)],
      ['days judged before complete', String(data.judgedEarly?.length ?? 0)],
    ]
      .map(([label, value]) => `<div class="tile"><b>${escape(value as string)}</b>${escape(label as string)}</div>`)
      .join('')}</section>`,
  );
  return parts;
}

/** Says why the page holds no chart: no check enabled, or no data in the range. */
function emptyNotes(data: ReportData): string[] {
  const { range } = data;
  const parts: string[] = [];
  const noData =
    data.checks.length > 0 &&
    data.checks.every(
      (check) =>
        check.error === null &&
        check.series.every((series) => series.points.every((point) => point.value === null || point.value === 0)),
    );
  if (data.checks.length === 0)
    parts.push('<p class="error">No check is enabled in the config: there is nothing to chart.</p>');
  if (noData)
    parts.push(
      `<p class="error">No data in this range: every check reads 0 or nothing from ${escape(range.start)} to ${escape(range.end)}. Has the ETL built these days (<code>kpis etl --from ${escape(range.start)} --to ${escape(range.end)}</code>)?</p>`,
    );
  return parts;
}

/** The ETL runs' chart, with the days no run built. */
async function pipelineParts(data: ReportData): Promise<string[]> {
  const parts: string[] = [];
  parts.push('<h2 id="pipeline">Pipeline</h2>');
  if (data.runLogError) parts.push(`<p class="note">No runs to show: ${escape(data.runLogError)}.</p>`);
  else
    parts.push(
      `<div class="chart">${await renderSvg(pipelineChartSpec(data.runs, data.missingDays, data.pipelineRange))}</div>${data.missingDays.length > 0 ? `<p class="note">Days no successful run built: ${escape(data.missingDays.join(', '))}</p>` : ''}`,
    );
  return parts;
}

/** The legend, then each check's charts (or its error) and cohort triangle. */
async function checkParts(data: ReportData): Promise<string[]> {
  const parts: string[] = [];
  parts.push('<h2 id="checks">Checks</h2>');
  parts.push(
    `<p class="legend note"><span><i class="swatch" style="background:#1f4e79"></i>value</span><span><i class="swatch" style="background:#7f7f7f"></i>baseline (dashed)</span><span><i class="swatch" style="background:#9ecae1"></i>band: no alert inside it</span><span><i class="swatch" style="background:#c0392b"></i>raised, labelled with the change</span><span><i class="swatch" style="background:#6c3483"></i>lost day or segment</span><span><i class="swatch" style="background:#e67e22"></i>muted: raised on a known event</span><span><i class="swatch" style="background:#f5cba7"></i>calendar: known event (with its note)</span><span><i class="swatch" style="background:#a9dfbf"></i>calendar: new normal</span><span><i class="swatch" style="background:#b3b3b3"></i>no verdict (warm-up, too little history)</span><span><i class="swatch" style="background:#e6e6e6"></i>weekend</span></p>`,
  );
  for (const check of data.checks) {
    const charts: string[] = [];
    for (const series of check.series) {
      const title = labelText(check.name, series.segment);
      charts.push(
        `<div class="chart" id="${chartAnchor(check.name, series.segment)}">${await renderSvg(checkChartSpec(title, series.points, series.calendar))}</div>`,
      );
    }
    parts.push(
      `<article class="check" id="${checkAnchor(check.name)}"><h3><bdi>${shown(check.name, DISPLAY_WIDTH.label)}</bdi>${check.raised > 0 ? ` <span class="raised">${check.raised} raised</span>` : ''}</h3><div class="note"><bdi>${shown(check.description, DISPLAY_WIDTH.message)}</bdi>${check.description ? ' · ' : ''}${escape(check.method)}</div>${
        check.error
          ? `<p class="error">${shown(check.error, DISPLAY_WIDTH.message)}</p>`
          : `<div class="charts">${charts.join('')}</div>${triangleOf(check.series)}`
      }</article>`,
    );
  }
  return parts;
}

/** The alerts sent about the range, each linking to its chart. */
function alertParts(data: ReportData): string[] {
  const parts: string[] = [];
  parts.push('<h2 id="alerts">Alerts</h2>');
  if (data.alertsError) parts.push(`<p class="note">No alerts to show: ${escape(data.alertsError)}.</p>`);
  else if (data.alerts.length === 0) parts.push('<p class="note">No alert was sent about these days.</p>');
  else {
    const rows = data.alerts.map((alert) => {
      const section = data.checks.find((check) => check.name === alert.check);
      // The segment's chart when it has one, else the check's section; pipeline alerts point at the runs.
      const target = !section
        ? '#pipeline'
        : section.series.some((series) => series.segment === alert.segment)
          ? `#${chartAnchor(alert.check, alert.segment)}`
          : `#${checkAnchor(alert.check)}`;
      const kind =
        alert.status === 'resolved' || alert.status === 'muted' ? `${alert.kind}, ${alert.status}` : alert.kind;
      const cells = [alert.date, kind, alert.severity].map((text) => shown(text, DISPLAY_WIDTH.label));
      return `<tr><td>${cells[0]}</td><td><a href="${target}"><bdi>${escape(labelText(alert.check, alert.segment))}</bdi></a></td><td>${cells[1]}</td><td>${cells[2]}</td><td>${shown(alert.message, DISPLAY_WIDTH.message)}</td></tr>`;
    });
    parts.push(
      `<table><thead><tr><th>date</th><th>check</th><th>kind</th><th>severity</th><th>message</th></tr></thead><tbody>${rows.join('')}</tbody></table>`,
    );
  }
  return parts;
}

/** Reads, renders and writes the report to `file`; returns what it holds, for the caller to print. */
export async function writeReport(
  warehouse: Parameters<typeof reportData>[0],
  job: Parameters<typeof reportData>[1],
  checks: Parameters<typeof reportData>[2],
  request: Parameters<typeof reportData>[3],
  file: string,
  context: Parameters<typeof reportData>[4],
): Promise<{
  file: string;
  checks: number;
  raised: number;
  failed: string[];
  alerts: number;
  runs: number;
  bytes: number;
}> {
  const data = await reportData(warehouse, job, checks, request, context);
  const html = await renderReportPage(data);
  writeOut(file, html);
  return {
    file,
    checks: data.checks.length,
    raised: data.checks.reduce((sum, check) => sum + check.raised, 0),
    failed: data.checks.filter((check) => check.error !== null).map((check) => check.name),
    alerts: data.alerts.length,
    runs: data.runs.length,
    bytes: Buffer.byteLength(html),
  };
}

/** What a failed write of the report means, by the error's code: one line for the person who ran it. */
const WRITE_FAILURES = new Map([
  ['EISDIR', 'it is a directory'],
  ['ENOSPC', 'no space left on the device'],
  ['EDQUOT', 'the disk quota is used up'],
  ['ENOTDIR', 'a part of the path is a file'],
  ['EEXIST', 'a part of the path is a file'],
  ['EACCES', 'permission denied'],
  ['EPERM', 'permission denied'],
  ['EROFS', 'the file system is read-only'],
  ['ENOENT', 'no such file or directory'],
]);

/**
 * Writes the report, making its folder; a failure is a KpisError of one line naming the file and
 * why (a UsageError, exit 2, when the file is a directory), never an fs stack trace.
 */
function writeOut(file: string, html: string): void {
  if (file === '') throw new UsageError('--out must name a file, got ""');
  try {
    mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    writeFileSync(file, html);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    const why = WRITE_FAILURES.get(code);
    if (code === 'EISDIR') throw new UsageError(`cannot write the report to ${file}: ${why}`, { cause: error });
    throw new KpisError(`cannot write the report to ${file}: ${why ? `${why} (${code})` : toError(error).message}`, {
      cause: error,
    });
  }
}
