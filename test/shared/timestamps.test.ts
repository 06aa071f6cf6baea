import { canonicalTimestamp, parseTimestamp, timestampMicros } from '../../shared/timestamps';

describe('parseTimestamp', () => {
  test.each([
    ['2026-11-20T10:00:00Z', '2026-11-20T10:00:00.000Z'],
    ['2026-11-20 10:00:00', '2026-11-20T10:00:00.000Z'],
    ['2026-11-20 10:00:00.123', '2026-11-20T10:00:00.123Z'],
    ['2026-11-20 10:00:00.123456', '2026-11-20T10:00:00.123456Z'],
    ['2026-11-20 10:00:00.000001', '2026-11-20T10:00:00.000001Z'],
    ['2026-11-20 10:00:00.123456789', '2026-11-20T10:00:00.123456Z'],
    ['2026-11-20 10:00:00 UTC', '2026-11-20T10:00:00.000Z'],
    ['2026-11-20T12:00:00+02:00', '2026-11-20T10:00:00.000Z'],
    ['2026-11-20T05:00:00.5-0500', '2026-11-20T10:00:00.500Z'],
    ['2026-11-20T10:00', '2026-11-20T10:00:00.000Z'],
    ['2026-11-20', '2026-11-20T00:00:00.000Z'],
  ])('reads %s as %s', (text, canonical) => {
    expect(parseTimestamp(text)).toBe(canonical);
  });

  test.each([
    'yesterday',
    '2026-02-30 10:00:00',
    '2026-11-20 25:00:00',
    '1700000000',
    '',
    '2026-02-30T10:00+01:00',
    '2026-11-20T24:00:00+02:00',
    '2026-11-20T10:60:00-05:00',
    '2026-11-20T10:00:00+15:00',
    '2025-02-29T01:00:00+01:00',
  ])('rejects %j', (text) => {
    expect(parseTimestamp(text)).toBeUndefined();
  });
});

test('microseconds survive the round trip through their integer form', () => {
  expect(timestampMicros('2026-11-20T10:00:00.123456Z')).toBe(1_795_168_800_123_456n);
  expect(timestampMicros(new Date('1970-01-01T00:00:01.5Z'))).toBe(1_500_000n);
  expect(canonicalTimestamp(new Date('2026-11-20T10:00:00Z'))).toBe('2026-11-20T10:00:00.000Z');
  expect(() => canonicalTimestamp('soon')).toThrow('not a timestamp: "soon"');
});
