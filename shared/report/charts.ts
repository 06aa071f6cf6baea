/**
 * The report's charts as Vega-Lite specs, in one place: a check's daily series with its baseline
 * and band, and the pipeline's runs. Pure data in, spec out, so the specs are tested as data and
 * rendered to SVG by render.ts. Every point carries a description, which Vega writes as the
 * mark's aria-label: a screen reader, and a test, can read each day off the SVG.
 */
import { addDays, type IsoDate } from '../dates';
import { DISPLAY_WIDTH, displayText } from '../format';

/** One day of a check's series, as the report shows it. */
export interface SeriesPoint {
  date: IsoDate;
  value: number | null;
  baseline: number | null;
  low: number | null;
  high: number | null;
  /** raised, lost (a raised day without events or rows), muted (raised on a calendar one_off day), no_verdict, ok or error. */
  status: 'raised' | 'lost' | 'muted' | 'no_verdict' | 'ok' | 'error';
  /** What a raised day is labelled with, e.g. "+28%". */
  label: string | null;
}

/** A calendar entry's days on a chart: shaded, with its note. */
export interface CalendarSpan {
  start: IsoDate;
  /** The last day (included). */
  end: IsoDate;
  kind: 'one_off' | 'new_normal';
  note: string;
}

export interface RunBar {
  run_id: string;
  start: string;
  end: string;
  status: 'succeeded' | 'failed' | 'running';
  label: string;
}

const WIDTH = 640;
const COLORS = {
  value: '#1f4e79',
  baseline: '#7f7f7f',
  band: '#9ecae1',
  raised: '#c0392b',
  lost: '#6c3483',
  no_verdict: '#b3b3b3',
  muted: '#e67e22',
  calendar: '#f5cba7',
  new_normal: '#a9dfbf',
  weekend: '#f2f2f2',
  succeeded: '#2e7d32',
  failed: '#c0392b',
  running: '#f39c12',
  missing: '#c0392b',
};

/** Saturdays and Sundays of a range, as [day, next day) spans to shade. */
export function weekendSpans(days: IsoDate[]): { start: IsoDate; end: IsoDate }[] {
  return days
    .filter((day) => [0, 6].includes(new Date(`${day}T00:00:00Z`).getUTCDay()))
    .map((day) => ({ start: day, end: addDays(day, 1) }));
}

const utcDay = (field: string, title: string | null = null) => ({
  field,
  type: 'temporal',
  timeUnit: 'utcyearmonthdate',
  title,
  axis: { format: '%b %d', labelAngle: 0, grid: false },
});

/**
 * A check's (or one segment's) series: weekends and calendar entries shaded (an entry with its
 * note), the band, the baseline, the values, raised, lost and muted days marked and labelled.
 */
export function checkChartSpec(
  title: string,
  points: SeriesPoint[],
  calendar: CalendarSpan[] = [],
): Record<string, unknown> {
  const days = points.map((point) => point.date);
  const rows = chartRows(points);
  const x = utcDay('date');
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, anchor: 'start', fontSize: 13 },
    width: WIDTH,
    height: 150,
    background: 'white',
    layer: [
      {
        name: 'weekends',
        data: { values: weekendSpans(days) },
        mark: { type: 'rect', color: COLORS.weekend },
        encoding: { x: utcDay('start'), x2: { field: 'end' } },
      },
      ...calendarLayers(calendar),
      {
        data: { values: rows },
        layer: [...lineLayers(x), ...dayLayers(x)],
      },
    ],
    config: { view: { stroke: null }, axis: { labelFontSize: 10 } },
  };
}

/** Each point with its band's ends and a description for screen readers. */
function chartRows(points: SeriesPoint[]) {
  return points.map((point) => ({
    ...point,
    // Where a direction never raises, the band has no end on that side: draw it to the axis.
    band_low: point.baseline === null ? null : (point.low ?? 0),
    band_high: point.baseline === null ? null : (point.high ?? Math.max(point.value ?? 0, point.baseline) * 1.25),
    description: `${point.date}: ${point.value === null ? 'no value' : point.value.toLocaleString('en-US')}${point.baseline === null ? '' : ` against ${point.baseline.toLocaleString('en-US')}`}, ${point.status}${point.label ? ` ${point.label}` : ''}`,
  }));
}

type DayAxis = ReturnType<typeof utcDay>;

/** The band, the baseline and the values as lines. */
function lineLayers(x: DayAxis): Record<string, unknown>[] {
  return [
    {
      name: 'band',
      transform: [{ filter: 'datum.band_low !== null' }],
      mark: { type: 'area', color: COLORS.band, opacity: 0.35 },
      encoding: { x, y: { field: 'band_low', type: 'quantitative', title: null }, y2: { field: 'band_high' } },
    },
    {
      name: 'baseline',
      transform: [{ filter: 'datum.baseline !== null' }],
      mark: { type: 'line', color: COLORS.baseline, strokeDash: [4, 3], strokeWidth: 1 },
      encoding: { x, y: { field: 'baseline', type: 'quantitative' } },
    },
    {
      name: 'series',
      transform: [{ filter: 'datum.value !== null' }],
      mark: { type: 'line', color: COLORS.value, strokeWidth: 1.5 },
      encoding: { x, y: { field: 'value', type: 'quantitative' } },
    },
  ];
}

/** Each day's point, coloured by its status; raised, lost and muted days larger and labelled. */
function dayLayers(x: DayAxis): Record<string, unknown>[] {
  return [dayPointsLayer(x), dayLabelsLayer(x)];
}

/** A point per day with a value, in its status's colour; raised, lost and muted ones larger. */
function dayPointsLayer(x: DayAxis): Record<string, unknown> {
  return {
    name: 'days',
    transform: [{ filter: 'datum.value !== null' }],
    mark: { type: 'point', filled: true, size: 18 },
    encoding: {
      x,
      y: { field: 'value', type: 'quantitative' },
      description: { field: 'description' },
      color: {
        field: 'status',
        type: 'nominal',
        legend: null,
        scale: {
          domain: ['ok', 'raised', 'lost', 'muted', 'no_verdict', 'error'],
          range: [COLORS.value, COLORS.raised, COLORS.lost, COLORS.muted, COLORS.no_verdict, COLORS.raised],
        },
      },
      size: {
        condition: {
          test: "datum.status === 'raised' || datum.status === 'lost' || datum.status === 'muted'",
          value: 70,
        },
        value: 18,
      },
    },
  };
}

/** The label of a raised, lost or muted day, above its point. */
function dayLabelsLayer(x: DayAxis): Record<string, unknown> {
  return {
    name: 'labels',
    transform: [
      {
        filter:
          "datum.label !== null && (datum.status === 'raised' || datum.status === 'lost' || datum.status === 'muted')",
      },
    ],
    mark: { type: 'text', dy: -10, fontSize: 10, fontWeight: 'bold' },
    encoding: {
      x,
      y: { field: 'value', type: 'quantitative' },
      text: { field: 'label' },
      color: { condition: { test: "datum.status === 'muted'", value: COLORS.muted }, value: COLORS.raised },
    },
  };
}

/** The calendar's spans, [start, end + 1 day) so a one-day entry is a day wide, each with its note at the top. */
function calendarLayers(calendar: CalendarSpan[]): Record<string, unknown>[] {
  if (calendar.length === 0) return [];
  const values = calendar.map((span) => ({
    ...span,
    until: addDays(span.end, 1),
    // A note is text from a file: its control and bidi characters shown, not obeyed, as every name's are.
    label: displayText(span.note, 40),
    // Not starting with a day, as a point's does: a reader (and a test) tells the two apart.
    description: `${span.kind === 'one_off' ? 'known event' : 'new normal'} ${span.start === span.end ? span.start : `${span.start}..${span.end}`}: ${displayText(span.note, DISPLAY_WIDTH.message)}`,
  }));
  return [
    {
      name: 'calendar',
      data: { values },
      mark: { type: 'rect', opacity: 0.45 },
      encoding: {
        x: utcDay('start'),
        x2: { field: 'until' },
        description: { field: 'description' },
        color: {
          field: 'kind',
          type: 'nominal',
          legend: null,
          scale: { domain: ['one_off', 'new_normal'], range: [COLORS.calendar, COLORS.new_normal] },
        },
      },
    },
    {
      name: 'calendar_notes',
      data: { values },
      mark: { type: 'text', align: 'left', baseline: 'top', dx: 2, y: 2, fontSize: 9, color: '#7e5109' },
      encoding: { x: utcDay('start'), text: { field: 'label' } },
    },
  ];
}

/** The ETL's runs as bars from start to end, coloured by outcome, and the days no run succeeded on marked. */
export function pipelineChartSpec(
  runs: RunBar[],
  missingDays: IsoDate[],
  range: { start: IsoDate; end: IsoDate },
): Record<string, unknown> {
  // The instants of the days shown (UTC, as the check charts draw days).
  const domain = [`${range.start}T00:00:00Z`, `${addDays(range.end, 1)}T00:00:00Z`];
  const x = {
    field: 'start',
    type: 'temporal',
    title: null,
    scale: { type: 'utc', domain },
    axis: { format: '%b %d', labelAngle: 0 },
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'ETL runs', anchor: 'start', fontSize: 13 },
    width: WIDTH,
    height: 60,
    background: 'white',
    layer: [missingDaysLayer(missingDays, x), runsLayer(runs)],
    config: { view: { stroke: null } },
  };
}

/** A faint band over each day no run succeeded on. */
function missingDaysLayer(missingDays: IsoDate[], x: Record<string, unknown>): Record<string, unknown> {
  return {
    name: 'missing',
    data: {
      values: missingDays.map((day) => ({
        start: `${day}T00:00:00Z`,
        end: `${addDays(day, 1)}T00:00:00Z`,
        description: `${day}: no successful run`,
      })),
    },
    mark: { type: 'rect', color: COLORS.missing, opacity: 0.18 },
    encoding: { x, x2: { field: 'end' }, description: { field: 'description' } },
  };
}

/** Each run as a bar and a tick at its start, coloured by its outcome. */
function runsLayer(runs: RunBar[]): Record<string, unknown> {
  return {
    data: { values: runs.map((run) => ({ ...run, description: run.label })) },
    encoding: {
      x: { field: 'start', type: 'temporal' },
      color: {
        field: 'status',
        type: 'nominal',
        legend: { orient: 'right', title: null },
        scale: { domain: ['succeeded', 'failed', 'running'], range: [COLORS.succeeded, COLORS.failed, COLORS.running] },
      },
    },
    layer: [
      // From start to end; a run lasts seconds to minutes, so a tick at its start keeps it visible on a scale of weeks.
      { name: 'runs', mark: { type: 'bar', height: 24 }, encoding: { x2: { field: 'end' } } },
      {
        name: 'run_starts',
        mark: { type: 'tick', thickness: 3, size: 30 },
        encoding: { description: { field: 'description' } },
      },
    ],
  };
}
