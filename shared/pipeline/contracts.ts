/**
 * The message contracts of DESIGN.md, validated with joi: what arrives on daily-kpis-trigger,
 * daily-kpis-completed and daily-kpis-heartbeat. A message that fails here can never succeed, so
 * the functions acknowledge it with an error log instead of letting Pub/Sub retry it.
 */
import Joi from 'joi';
import {
  dayCount,
  parseIsoDate,
  resolveDateRange,
  type DateRange,
  type DateRangeFieldNames,
  type IsoDate,
} from '../dates';
import { reservedKeyPath, reservedNameProblem } from '../config/names';
import { InvalidMessageError, UsageError } from '../errors';
import type { EtlResult } from '../etl/run-etl';

/** The trigger message's own keys, so its errors name what the sender wrote. */
const TRIGGER_KEYS: DateRangeFieldNames = { date: 'date', daysBack: 'days_back', from: 'start_date', to: 'end_date' };

const isoDate = Joi.string()
  .pattern(/^\d{4}-\d{2}-\d{2}$/)
  .custom((value: string) => parseIsoDate(value))
  .messages({
    'string.pattern.base': '{{#label}} must be a day as YYYY-MM-DD, got {{#value}}',
    'any.custom': '{{#label}} is not a calendar day: {{#value}}',
  });

/** daily-kpis-trigger: `{}` or one of date, days_back, start_date+end_date; kpis and dry_run. */
export interface TriggerMessage {
  date?: string;
  days_back?: number;
  start_date?: string;
  end_date?: string;
  kpis?: string[];
  dry_run?: boolean;
}

const triggerSchema = Joi.object<TriggerMessage>({
  date: isoDate,
  days_back: Joi.number().integer().min(0).max(3660),
  start_date: isoDate,
  end_date: isoDate,
  kpis: Joi.array().items(Joi.string()).min(1),
  dry_run: Joi.boolean(),
})
  .and('start_date', 'end_date')
  .oxor('date', 'days_back', 'start_date')
  .messages({ 'object.oxor': 'give only one of date, days_back, or start_date with end_date' });

export interface TriggerRequest {
  range: DateRange;
  kpis?: string[];
  dryRun: boolean;
}

/**
 * Validates a trigger and resolves its days. `today` is the day the message was published, so a
 * redelivery the next day still builds the days the scheduler meant.
 */
export function parseTrigger(data: unknown, today: IsoDate, maxRangeDays: number): TriggerRequest {
  const message = validate<TriggerMessage>(triggerSchema, data, 'trigger');
  let range: DateRange;
  try {
    range = resolveDateRange(
      { date: message.date, daysBack: message.days_back, from: message.start_date, to: message.end_date },
      today,
      1,
      TRIGGER_KEYS,
    );
  } catch (error) {
    if (error instanceof UsageError) throw new InvalidMessageError(`trigger: ${error.message}`);
    throw error;
  }
  const days = dayCount(range.start, range.end) + 1;
  if (days > maxRangeDays)
    throw new InvalidMessageError(
      `trigger: ${range.start}..${range.end} is ${days} days, more than the ${maxRangeDays} a run may cover (KPIS_MAX_RANGE_DAYS); split the backfill`,
    );
  return { range, kpis: message.kpis, dryRun: message.dry_run ?? false };
}

const completionSchema = Joi.object<EtlResult>({
  run_id: Joi.string().required(),
  job_name: Joi.string().required(),
  status: Joi.string().valid('succeeded', 'failed').required(),
  start_date: isoDate.required(),
  end_date: isoDate.required(),
  dates: Joi.array().items(isoDate).required(),
  tables: Joi.array().items(Joi.string()).required(),
  error: Joi.string().allow(null).required(),
  started_at: Joi.string().isoDate().required(),
  finished_at: Joi.string().isoDate().required(),
  dry_run: Joi.boolean().required(),
  bytes_processed: Joi.number().allow(null),
  restated_dates: Joi.array().items(isoDate),
});

/** daily-kpis-completed: the ETL's result, as runEtl returns it. */
export function parseCompletion(data: unknown): EtlResult {
  return validate<EtlResult>(completionSchema, data, 'completion event');
}

export type LogMonitorEvent = { kind: 'heartbeat' } | { kind: 'completion'; completion: EtlResult };

/** log-monitor listens to both: the heartbeat is `{}`, anything else must be a completion event. */
export function parseLogMonitorEvent(data: unknown): LogMonitorEvent {
  if (data !== null && typeof data === 'object' && !Array.isArray(data) && Object.keys(data).length === 0)
    return { kind: 'heartbeat' };
  return { kind: 'completion', completion: parseCompletion(data) };
}

function validate<T>(schema: Joi.ObjectSchema<T>, data: unknown, what: string): T {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new InvalidMessageError(
      `${what}: the message must be a JSON object, got ${Array.isArray(data) ? 'an array' : JSON.stringify(data)}`,
    );
  }
  // Checked before joi: its copy of the object drops an own __proto__ key instead of refusing it.
  const reserved = reservedKeyPath(data);
  if (reserved !== null) throw new InvalidMessageError(`${what}: ${reservedNameProblem(reserved)}`);
  const { error, value } = schema.validate(data, { abortEarly: false, convert: false });
  if (error)
    throw new InvalidMessageError(
      `${what}: ${error.details.map((detail) => detail.message.replaceAll('"', '')).join('; ')}`,
    );
  return value;
}
