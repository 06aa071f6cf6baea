/** The synthetic demo history: deterministic, with the shape the README promises. */
import { addDays, daysBetween, toIsoDate } from '../../../shared/dates';
import { generateDemoEvents } from '../../../shared/events/demo';
import { countEvents, seedDemo } from '../../../shared/events/seed-demo';
import type { DuckDbWarehouse } from '../../../shared/warehouse/duckdb';
import type { Row } from '../../../shared/warehouse/warehouse';
import { context, openMemoryWarehouse, SOURCE } from '../../helpers/warehouse';

const TODAY = '2026-11-27'; // a Friday
const NOW = new Date(`${TODAY}T06:00:00Z`);
const events = generateDemoEvents({ today: TODAY, now: NOW, days: 56 });

function perDay(rows: Row[]): Map<string, { users: Set<string>; firstSeen: number }> {
  const days = new Map<string, { users: Set<string>; firstSeen: number }>();
  const seen = new Set<string>();
  for (const row of [...rows].sort((a, b) => (a.time as Date).getTime() - (b.time as Date).getTime())) {
    const day = toIsoDate(row.time as Date);
    const entry = days.get(day) ?? { users: new Set<string>(), firstSeen: 0 };
    entry.users.add(row.user_id as string);
    if (!seen.has(row.user_id as string)) {
      seen.add(row.user_id as string);
      entry.firstSeen += 1;
    }
    days.set(day, entry);
  }
  return days;
}

const days = perDay(events);
const dau = (day: string) => days.get(day)?.users.size ?? 0;
const installs = (day: string) => days.get(day)?.firstSeen ?? 0;

test('the same arguments give the same events; another seed gives others', () => {
  const twoWeeks = (seed?: number) => JSON.stringify(generateDemoEvents({ today: TODAY, now: NOW, days: 14, seed }));
  expect(twoWeeks()).toBe(twoWeeks());
  expect(twoWeeks(7)).not.toBe(twoWeeks());
});

test('every user keeps one platform and one country, drawn from a few of each, mostly Android', () => {
  const byUser = new Map<string, string>();
  for (const row of events) {
    const traits = `${String(row.platform)}/${String(row.country)}`;
    expect(byUser.get(row.user_id as string) ?? traits).toBe(traits);
    byUser.set(row.user_id as string, traits);
  }
  const share = (platform: string) =>
    [...byUser.values()].filter((traits) => traits.startsWith(`${platform}/`)).length / byUser.size;
  expect(share('ANDROID') + share('IOS')).toBe(1);
  expect(share('ANDROID')).toBeGreaterThan(0.5);
  expect(new Set(events.map((row) => row.country)).size).toBe(5);
});

test('covers the days asked for, and nothing after now', () => {
  expect([...days.keys()].sort()).toEqual(daysBetween(addDays(TODAY, -55), TODAY));
  expect(events.reduce((latest, e) => Math.max(latest, (e.time as Date).getTime()), 0)).toBeLessThanOrEqual(
    NOW.getTime(),
  );
});

test('installs spike on the latest complete day, against the week before', () => {
  const yesterday = addDays(TODAY, -1);
  const weekBefore = daysBetween(addDays(yesterday, -7), addDays(yesterday, -1)).map(installs);
  const mean = weekBefore.reduce((a, b) => a + b, 0) / weekBefore.length;
  expect(installs(yesterday)).toBeGreaterThan(2.5 * mean);
});

test('a steady product with a weekly rhythm: weekends busier than midweek, weeks alike once users are known', () => {
  const complete = daysBetween(addDays(TODAY, -49), addDays(TODAY, -2));
  const weekend = complete.filter((d) => [0, 6].includes(new Date(d).getUTCDay())).map(dau);
  const midweek = complete.filter((d) => [2, 3].includes(new Date(d).getUTCDay())).map(dau);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  expect(mean(weekend)).toBeGreaterThan(1.1 * mean(midweek));
  const lastWeek = mean(complete.slice(-7).map(dau));
  const threeWeeksEarlier = mean(complete.slice(-28, -21).map(dau));
  expect(Math.abs(lastWeek / threeWeeksEarlier - 1)).toBeLessThan(0.1);
});

describe('seedDemo', () => {
  let warehouse: DuckDbWarehouse;
  beforeEach(async () => {
    warehouse = await openMemoryWarehouse();
  });
  afterEach(() => warehouse.close());

  test('refuses to add to existing events, skips when asked, and replaces when asked', async () => {
    const first = await seedDemo(warehouse, SOURCE, { today: TODAY, now: NOW, days: 7 }, context);
    expect(first).toMatchObject({ table: 'gamepltx.fact', first_date: '2026-11-21', last_date: TODAY });
    expect(await countEvents(warehouse, SOURCE, context)).toBe(first.rows);

    await expect(seedDemo(warehouse, SOURCE, { today: TODAY, now: NOW, days: 7 }, context)).rejects.toThrow(
      `gamepltx.fact already holds ${first.rows} events; add --replace`,
    );
    expect(
      (await seedDemo(warehouse, SOURCE, { today: TODAY, now: NOW, days: 7, whenNotEmpty: 'skip' }, context)).rows,
    ).toBe(0);
    const replaced = await seedDemo(
      warehouse,
      SOURCE,
      { today: TODAY, now: NOW, days: 3, whenNotEmpty: 'replace' },
      context,
    );
    expect(await countEvents(warehouse, SOURCE, context)).toBe(replaced.rows);
    expect(replaced.rows).toBeLessThan(first.rows);
  });
});
