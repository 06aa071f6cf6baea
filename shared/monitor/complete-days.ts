/**
 * The KPI checks of days a person asks for (`kpis monitor`), judged only once complete, as the
 * kpi-monitor function judges a run's days (judgedDays). In order:
 * 1. each enabled check's complete days among those asked: a day is complete once its end in the
 *    business zone plus the check's complete_after_hours is past; the others are held back;
 * 2. checks with the same complete days run together (one monitor run each, as the function does);
 * 3. the held days are returned with the time each completes, for the caller to say so.
 * `judgeIncomplete` judges every asked day, complete or not (the user's explicit choice).
 */
import { NOT_DELIVERED } from '../alerts/deliver';
import type { AlertDeps } from '../alerts/deliver';
import type { KpiCheck } from '../config/kpi-checks';
import { addDays, DEFAULT_TIME_ZONE, startOfDayIn, type IsoDate } from '../dates';
import { runKpiMonitor, type KpiMonitorOutcome, type MonitorRequest } from './kpi-monitor';

/** A day a check did not judge: it completes at `completeAt` (its end plus `graceHours`). */
export interface HeldDay {
  check: string;
  day: IsoDate;
  graceHours: number;
  completeAt: Date;
}

/** When `day` is complete for a check with this grace: its end (next local midnight) plus the grace. */
export function completeAt(day: IsoDate, graceHours: number, timeZone: string): Date {
  return new Date(startOfDayIn(addDays(day, 1), timeZone).getTime() + graceHours * 3_600_000);
}

/** The asked days each enabled check may judge at `now`, grouped by days, and the days held back. */
export function splitByCompleteness(
  checks: KpiCheck[],
  dates: IsoDate[],
  now: Date,
  timeZone: string,
): { groups: { dates: IsoDate[]; checks: KpiCheck[] }[]; held: HeldDay[] } {
  const groups = new Map<string, { dates: IsoDate[]; checks: KpiCheck[] }>();
  const held: HeldDay[] = [];
  for (const check of checks.filter((c) => c.isEnable)) {
    const graceHours = check.complete_after_hours ?? 0;
    const complete: IsoDate[] = [];
    for (const day of dates) {
      const at = completeAt(day, graceHours, timeZone);
      if (at.getTime() <= now.getTime()) complete.push(day);
      else held.push({ check: check.name, day, graceHours, completeAt: at });
    }
    if (complete.length === 0) continue;
    const key = complete.join(',');
    groups.set(key, { dates: complete, checks: [...(groups.get(key)?.checks ?? []), check] });
  }
  return { groups: [...groups.values()], held };
}

/** The monitor over the asked days' complete ones (all of them with judgeIncomplete), and the days held back. */
export async function monitorCompleteDays(
  deps: AlertDeps,
  checks: KpiCheck[],
  request: MonitorRequest & { judgeIncomplete?: boolean },
): Promise<KpiMonitorOutcome & { held: HeldDay[] }> {
  const timeZone = request.timeZone ?? DEFAULT_TIME_ZONE;
  const split = request.judgeIncomplete
    ? { groups: [{ dates: request.dates, checks }], held: [] }
    : splitByCompleteness(checks, request.dates, deps.clock(), timeZone);
  const outcomes: KpiMonitorOutcome[] = [];
  for (const [index, group] of split.groups.entries()) {
    const runId = index === 0 ? request.runId : `${request.runId}:${index}`;
    outcomes.push(await runKpiMonitor(deps, group.checks, { ...request, dates: group.dates, runId }));
  }
  return { ...mergeOutcomes(outcomes), held: split.held };
}

/** Several monitor runs as one: results by day, alerts and deliveries together. */
function mergeOutcomes(outcomes: KpiMonitorOutcome[]): KpiMonitorOutcome {
  const [first] = outcomes;
  if (outcomes.length <= 1) return first ?? { results: [], alerts: [], delivery: NOT_DELIVERED };
  const deliveries = outcomes.map((outcome) => outcome.delivery);
  const slackStates = ['failed', 'posted', 'nothing_to_post', 'off'] as const;
  return {
    results: outcomes
      .flatMap((outcome) => outcome.results)
      .sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0)),
    alerts: outcomes.flatMap((outcome) => outcome.alerts),
    delivery: {
      published: deliveries.flatMap((delivery) => delivery.published),
      already_published: deliveries.flatMap((delivery) => delivery.already_published),
      // The worst state said: a failed post matters more than another run's success.
      slack: slackStates.find((state) => deliveries.some((delivery) => delivery.slack === state)) ?? 'off',
      slack_alerts: deliveries.flatMap((delivery) => delivery.slack_alerts),
      ...(deliveries.find((delivery) => delivery.slack_error)
        ? { slack_error: deliveries.find((delivery) => delivery.slack_error)?.slack_error }
        : {}),
    },
  };
}
