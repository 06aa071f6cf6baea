/**
 * The restate_days figures of `npm run bench`, measured on a warehouse whose days were built with
 * it on (so each day's source version is recorded), interleaved round by round:
 * - restate_overhead_ratio: the daily run with the change check on, over an unchanged source,
 *   against the same run with restate_days 0 (goal <= 1.2);
 * - restate_3_days_ratio: a daily run after late events landed on three earlier days (apart, so
 *   three ranges of their own), against the daily run of one day with the check off: the day's
 *   work plus the three restated days', plus the days between them of the tables that read earlier
 *   days (reads_days_before, or a keep_* table: reach.ts) (goal <= 4).
 */
import type { EtlJob } from '../shared/config/etl-config';
import { addDays } from '../shared/dates';
import { runEtl } from '../shared/etl/run-etl';
import { silentLogger } from '../shared/log';
import type { DuckDbWarehouse } from '../shared/warehouse/duckdb';

export interface RestateFigures {
  overheadRatio: number;
  threeDaysRatio: number;
  offMs: number;
  onMs: number;
  threeDaysMs: number;
}

async function timedRun(
  warehouse: DuckDbWarehouse,
  job: EtlJob,
  day: string,
  runId: string,
): Promise<{ ms: number; restated: string[] }> {
  const start = process.hrtime.bigint();
  const { failure, result } = await runEtl({ warehouse, clock: () => new Date(), logger: silentLogger }, job, {
    range: { start: day, end: day },
    runId,
    username: 'bench',
  });
  if (failure) throw failure;
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, restated: result.restated_dates ?? [] };
}

function median(samples: number[]): number {
  return [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 2)] as number;
}

export async function restateBench(
  warehouse: DuckDbWarehouse,
  job: EtlJob,
  day: string,
  runs: number,
): Promise<RestateFigures> {
  const on = { ...job, restateDays: 7 };
  const off = { ...job, restateDays: 0 };
  const rounds: { off: number; on: number; three: number }[] = [];
  for (let run = 0; run < runs; run += 1) {
    const { unchanged, plain } = await onAndOff(warehouse, { on, off }, day, run);
    if (unchanged.restated.length !== 0)
      throw new Error(`an unchanged source restated ${unchanged.restated.join(', ')}`);
    const three = await afterThreeLateDays(warehouse, on, day, run);
    rounds.push({ off: plain.ms, on: unchanged.ms, three: three.ms });
  }
  return {
    overheadRatio: median(rounds.map((r) => r.on / r.off)),
    threeDaysRatio: median(rounds.map((r) => r.three / r.off)),
    offMs: median(rounds.map((r) => r.off)),
    onMs: median(rounds.map((r) => r.on)),
    threeDaysMs: median(rounds.map((r) => r.three)),
  };
}

const CONTEXT = { job: 'bench', runId: 'bench' };

type TimedRun = { ms: number; restated: string[] };

/** The daily run with the change check on (unchanged source) and off (plain), in the round's order. */
async function onAndOff(
  warehouse: DuckDbWarehouse,
  jobs: { on: EtlJob; off: EtlJob },
  day: string,
  run: number,
): Promise<{ unchanged: TimedRun; plain: TimedRun }> {
  // Each first in turn, and every run after a checkpoint, so neither pays for the other's writes.
  const pair = [
    async () => timedRun(warehouse, jobs.on, day, `restate-on-${run}`),
    async () => timedRun(warehouse, jobs.off, day, `restate-off-${run}`),
  ];
  const times = [];
  for (const timed of run % 2 === 0 ? pair : [...pair].reverse()) {
    await warehouse.query('CHECKPOINT', {}, CONTEXT);
    times.push(await timed());
  }
  const [unchanged, plain] = (run % 2 === 0 ? times : [...times].reverse()) as [TimedRun, TimedRun];
  return { unchanged, plain };
}

/** Late events land on three earlier days (apart), then the daily run with the check on, which must restate them. */
async function afterThreeLateDays(warehouse: DuckDbWarehouse, on: EtlJob, day: string, run: number): Promise<TimedRun> {
  for (const back of [2, 4, 6]) {
    await warehouse.query(
      "INSERT INTO gamepltx.fact (user_id, time, event_name, coins_added) VALUES (@user_id, @time, 'session_start', NULL)",
      {
        user_id: { type: 'STRING', value: `late_${run}_${back}` },
        time: { type: 'TIMESTAMP', value: new Date(`${addDays(day, -back)}T12:00:00Z`) },
      },
      CONTEXT,
    );
  }
  await warehouse.query('CHECKPOINT', {}, CONTEXT);
  const three = await timedRun(warehouse, on, day, `restate-three-${run}`);
  // The three changed days, and (shipped KPI pack) the days between them of the tables that read earlier days.
  const changed = [2, 4, 6].map((back) => addDays(day, -back));
  if (!changed.every((changedDay) => three.restated.includes(changedDay)))
    throw new Error(`three changed days restated ${three.restated.join(', ')}`);
  return three;
}

const round = (value: number): number => Math.round(value * 100) / 100;

export function restateFields(figures: RestateFigures): Record<string, number> {
  return {
    restate_overhead_ratio: round(figures.overheadRatio),
    restate_3_days_ratio: round(figures.threeDaysRatio),
    daily_run_ms_restate_off: round(figures.offMs),
    daily_run_ms_restate_on: round(figures.onMs),
    daily_run_ms_3_days_restated: round(figures.threeDaysMs),
  };
}

export function restateLines(figures: RestateFigures): string[] {
  const fields = restateFields(figures);
  return [
    `  restate_overhead_ratio ${fields.restate_overhead_ratio}  (daily run, restate_days 7 over an unchanged source / restate_days 0; goal <= 1.2)`,
    `  restate_3_days_ratio   ${fields.restate_3_days_ratio}  (daily run after late events on 3 earlier days / the daily run alone; goal <= 4)`,
    `  restate                ${fields.daily_run_ms_restate_on} ms with the check, ${fields.daily_run_ms_restate_off} ms without, ${fields.daily_run_ms_3_days_restated} ms restating 3 days`,
  ];
}
