/**
 * Deterministic synthetic game events for the demo and the benchmark: a steady product with slow
 * growth, a weekly rhythm (busier weekends), day-to-day noise of a few percent, and on the latest
 * complete day an install spike, the outage of one event type and a store outage on one platform
 * (its purchases fail), so there is something for the monitors (the segmented checks included) to
 * find and nothing else. The same arguments always give the same events.
 */
import { addDays, daysBetween, startOfDay, type IsoDate } from '../dates';
import type { Row } from '../warehouse/warehouse';

export interface DemoOptions {
  /** The last day generated; its events stop at `now`, as a day in progress would. */
  today: IsoDate;
  now: Date;
  /** Days of history, today included. */
  days: number;
  /** Installs on the first day; grows by `growth` a day. */
  baseInstalls?: number;
  /** Daily growth of installs (default 0.002, 0.2% a day). */
  growth?: number;
  seed?: number;
  /** The day whose installs are multiplied (default: yesterday, the latest complete day). */
  anomalyDay?: IsoDate | null;
  anomalyFactor?: number;
  /** An event type that is lost on the anomaly day, as when one stream of the client breaks (default ad_watched; null for none). */
  outageEvent?: string | null;
  /**
   * The platform whose purchases fail on the anomaly day, as when its store breaks (default IOS;
   * null for none): the KPI pack's revenue_by_platform catches it while the install spike keeps
   * the total's revenue about normal.
   */
  storeOutagePlatform?: string | null;
}

/** mulberry32: a small, fast, seedable PRNG; Math.random cannot be seeded. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const EVENTS = ['session_start', 'level_start', 'level_complete', 'ad_watched', 'purchase'] as const;
const WEEKDAY_FACTOR = [1.25, 0.95, 0.95, 1.0, 1.0, 1.05, 1.3]; // Sunday first, as getUTCDay()

/** Platforms and countries of the demo's users, with their shares (segments for the KPI pack). */
const PLATFORMS: readonly [string, number][] = [
  ['ANDROID', 0.6],
  ['IOS', 0.4],
];
const COUNTRIES: readonly [string, number][] = [
  ['United States', 0.35],
  ['Germany', 0.2],
  ['Brazil', 0.2],
  ['Japan', 0.15],
  ['India', 0.1],
];

function pick(choices: readonly [string, number][], draw: number): string {
  let left = draw;
  for (const [value, share] of choices) {
    if (left < share) return value;
    left -= share;
  }
  return (choices[choices.length - 1] as [string, number])[0];
}

interface DemoUser {
  id: string;
  platform: string;
  country: string;
  /** Chance of coming back on the day after install; it fades by RETENTION_DECAY a day. */
  engagement: number;
  installIndex: number;
}

const RETENTION_DECAY = 0.93;
/**
 * Days simulated before the first emitted day and not emitted: the first day then already has the
 * returning users of a running product, so DAU is steady from the start instead of ramping up.
 */
const WARM_UP_DAYS = 35;

export function generateDemoEvents(options: DemoOptions): Row[] {
  const run = demoRun(options);
  const days = daysBetween(addDays(options.today, -(options.days - 1 + WARM_UP_DAYS)), options.today);
  const users: DemoUser[] = [];
  const rows: Row[] = [];
  // The draws keep their order (installs' noise, returning users, new users, events): the same
  // seed gives the same events.
  days.forEach((day, index) => {
    const weekday = WEEKDAY_FACTOR[startOfDay(day).getUTCDay()] as number;
    const installs = dayInstalls(run, day, index, weekday);
    const active = returningUsers(run, users, index, weekday);
    active.push(...newUsers(run, users, installs, index));
    if (index < WARM_UP_DAYS) return;
    for (const user of active) rows.push(...userEvents(run, day, user));
  });
  return rows;
}

/** The options with their defaults, and the two random streams. */
interface DemoRun {
  random: () => number;
  traits: () => number;
  baseInstalls: number;
  growth: number;
  anomalyDay: IsoDate | null;
  anomalyFactor: number;
  outageEvent: string | null;
  storeOutage: string | null;
  now: Date;
}

function demoRun(options: DemoOptions): DemoRun {
  const seed = options.seed ?? 20261127;
  return {
    random: prng(seed),
    // A stream of its own, so a user's platform and country leave every other draw (and every
    // figure of the demo) as it was before they existed.
    traits: prng(seed ^ 0x5eed),
    baseInstalls: options.baseInstalls ?? 120,
    growth: options.growth ?? 0.002,
    anomalyDay: options.anomalyDay === undefined ? addDays(options.today, -1) : options.anomalyDay,
    anomalyFactor: options.anomalyFactor ?? 3,
    outageEvent: options.outageEvent === undefined ? 'ad_watched' : options.outageEvent,
    storeOutage: options.storeOutagePlatform === undefined ? 'IOS' : options.storeOutagePlatform,
    now: options.now,
  };
}

/** A day's installs: growing, weekly, a little noisy, multiplied on the anomaly day. */
function dayInstalls(run: DemoRun, day: IsoDate, index: number, weekday: number): number {
  const noise = 0.97 + run.random() * 0.06;
  const installs = Math.round(run.baseInstalls * (1 + run.growth) ** (index - WARM_UP_DAYS) * weekday * noise);
  return day === run.anomalyDay ? Math.round(installs * run.anomalyFactor) : installs;
}

/** The earlier users who come back on the day: less likely the longer ago they installed. */
function returningUsers(run: DemoRun, users: DemoUser[], index: number, weekday: number): DemoUser[] {
  const active: DemoUser[] = [];
  for (const user of users) {
    if (run.random() < user.engagement * weekday * RETENTION_DECAY ** (index - user.installIndex)) active.push(user);
  }
  return active;
}

/** The day's installs as new users, added to `users`. */
function newUsers(run: DemoRun, users: DemoUser[], installs: number, index: number): DemoUser[] {
  const added: DemoUser[] = [];
  for (let n = 0; n < installs; n += 1) {
    const id = `u${String(users.length + 1).padStart(6, '0')}`;
    const user = {
      id,
      engagement: 0.2 + run.random() * 0.5,
      installIndex: index,
      platform: pick(PLATFORMS, run.traits()),
      country: pick(COUNTRIES, run.traits()),
    };
    users.push(user);
    added.push(user);
  }
  return added;
}

/** A user's events of the day, up to `now`, without the anomaly day's outages. */
function userEvents(run: DemoRun, day: IsoDate, user: DemoUser): Row[] {
  const dayStart = startOfDay(day).getTime();
  const rows: Row[] = [];
  const events = 1 + Math.floor(run.random() * 8);
  for (let e = 0; e < events; e += 1) {
    const time = new Date(dayStart + Math.floor(run.random() * 86_400_000));
    if (time > run.now) continue;
    const name = EVENTS[Math.floor(run.random() * EVENTS.length)] as (typeof EVENTS)[number];
    if (day === run.anomalyDay && name === run.outageEvent) continue;
    const coins = coinsOf(name, run.random);
    // After the coins' draw, so every other event stays as it was without the outage.
    if (day === run.anomalyDay && name === 'purchase' && user.platform === run.storeOutage) continue;
    rows.push({
      user_id: user.id,
      time,
      event_name: name,
      coins_added: coins,
      platform: user.platform,
      country: user.country,
    });
  }
  return rows;
}

/** The coins an event adds; a purchase draws its amount. */
function coinsOf(name: (typeof EVENTS)[number], random: () => number): number | null {
  return name === 'purchase'
    ? 100 + Math.floor(random() * 900)
    : name === 'ad_watched'
      ? 5
      : name === 'level_complete'
        ? 10
        : null;
}
