/**
 * Retention as a cohort triangle, besides its charts: a check whose segments are all `D` and a
 * number (the KPI pack's retention check, which judges each cohort's DN on the day it matures) is
 * also shown as a table of install cohort (rows) by N (columns). A point of segment DN on day d is
 * the cohort of d - N. Each cell is the rate, shaded from white (0) to blue (the highest rate of
 * its column, as D30 rates are a fraction of D1's). A day without a row for the cohort (a D30
 * series before its first cohort matured: 0, no verdict) makes no cell.
 */
import { addDays, type IsoDate } from '../dates';
import type { SeriesPoint } from './charts';

export interface CohortTriangle {
  ns: number[];
  /** Newest cohort first, as a triangle is read. */
  rows: { cohort: IsoDate; cells: (number | null)[] }[];
}

const DN = /^D(\d{1,4})$/;

/** The triangle of a check's series, or null when its segments are not all DN. */
export function cohortTriangle(series: { segment: string | null; points: SeriesPoint[] }[]): CohortTriangle | null {
  const ns = series.map((s) => DN.exec(s.segment ?? '')?.[1]).map((n) => (n === undefined ? null : Number(n)));
  if (series.length === 0 || ns.some((n) => n === null)) return null;
  const cells = new Map<IsoDate, Map<number, number>>();
  series.forEach((s, index) => {
    const n = ns[index] as number;
    for (const point of s.points) {
      if (point.value === null || (point.value === 0 && point.status === 'no_verdict')) continue;
      const cohort = addDays(point.date, -n);
      cells.set(cohort, (cells.get(cohort) ?? new Map<number, number>()).set(n, point.value));
    }
  });
  const sorted = [...new Set(ns as number[])].sort((a, b) => a - b);
  const cohorts = [...cells.keys()].sort().reverse();
  return {
    ns: sorted,
    rows: cohorts.map((cohort) => ({ cohort, cells: sorted.map((n) => cells.get(cohort)?.get(n) ?? null) })),
  };
}

/** The triangle as an HTML table (dates and numbers only: nothing to escape). */
export function cohortTriangleHtml(triangle: CohortTriangle): string {
  const highest = triangle.ns.map((_n, column) => Math.max(0, ...triangle.rows.map((row) => row.cells[column] ?? 0)));
  const cell = (value: number | null, column: number): string => {
    if (value === null) return '<td></td>';
    const share = (highest[column] as number) > 0 ? value / (highest[column] as number) : 0;
    // Lightness 97% (white) to 55% (blue) with the rate.
    return `<td style="background:hsl(210,70%,${Math.round(97 - 42 * share)}%)">${(value * 100).toFixed(1)}%</td>`;
  };
  const head = `<tr><th>install cohort</th>${triangle.ns.map((n) => `<th>D${n}</th>`).join('')}</tr>`;
  const body = triangle.rows.map((row) => `<tr><td>${row.cohort}</td>${row.cells.map(cell).join('')}</tr>`).join('');
  return `<table class="cohorts"><caption class="note">Cohort triangle: each install cohort's DN retention, on the day it became final</caption>${head}${body}</table>`;
}
