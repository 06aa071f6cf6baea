import { InputFileError, UsageError } from '../../../shared/errors';
import { detectFormat, parseCsvEvents, parseJsonLinesEvents } from '../../../shared/events/parse-events';

describe('CSV events', () => {
  test('reads a header and typed rows; empty cells are NULL', () => {
    const rows = parseCsvEvents(
      'e.csv',
      'user_id,time,event_name,coins_added,platform,country\nu1,2026-11-20 10:00:00,purchase,100,IOS,Japan\nu2,2026-11-20T11:00:00Z,,,,\n',
    );
    expect(rows).toEqual([
      {
        user_id: 'u1',
        time: '2026-11-20T10:00:00.000Z',
        event_name: 'purchase',
        coins_added: 100,
        platform: 'IOS',
        country: 'Japan',
      },
      {
        user_id: 'u2',
        time: '2026-11-20T11:00:00.000Z',
        event_name: null,
        coins_added: null,
        platform: null,
        country: null,
      },
    ]);
  });

  test('columns may come in any order and optional ones may be missing', () => {
    expect(parseCsvEvents('e.csv', 'time,user_id\n2026-11-20,u1\n')).toEqual([
      {
        user_id: 'u1',
        time: '2026-11-20T00:00:00.000Z',
        event_name: null,
        coins_added: null,
        platform: null,
        country: null,
      },
    ]);
  });

  test.each([
    [
      'a bad timestamp',
      'user_id,time\nu1,2026-11-20 10:00:00\nu2,not-a-time\n',
      'e.csv:3: column 2: time: expected a timestamp',
    ],
    [
      'a fractional coin count',
      'user_id,time,coins_added\nu1,2026-11-20,1.5\n',
      'e.csv:2: column 3: coins_added: expected a whole number, got "1.5"',
    ],
    ['a missing user', 'user_id,time\n,2026-11-20\n', 'e.csv:2: column 1: user_id: is required'],
    ['an unknown column', 'user_id,time,os\nu1,2026-11-20,ios\n', 'e.csv:1: column 3: unknown column "os"'],
    [
      'a platform longer than 64 characters',
      `user_id,time,platform\nu1,2026-11-20,${'p'.repeat(65)}\n`,
      'e.csv:2: column 3: platform: longer than 64 characters',
    ],
    ['a missing required column', 'user_id,event_name\nu1,x\n', 'e.csv:1: column 3: missing required column time'],
    ['a row with too many fields', 'user_id,time\nu1,2026-11-20,extra\n', 'e.csv:2'],
    ['an unclosed quote', 'user_id,time\n"u1,2026-11-20\n', 'e.csv:'],
    ['an empty file', '', 'e.csv: the file is empty'],
  ])('refuses %s with the line and column, loading nothing', (_name, text, message) => {
    expect(() => parseCsvEvents('e.csv', text)).toThrow(InputFileError);
    expect(() => parseCsvEvents('e.csv', text)).toThrow(message);
  });

  test('lists every problem, up to twenty, and counts the rest', () => {
    const lines = Array.from({ length: 22 }, (_, i) => `u${i},bad`);
    const error = (() => {
      try {
        parseCsvEvents('e.csv', `user_id,time\n${lines.join('\n')}\n`);
      } catch (thrown) {
        return thrown as Error;
      }
      throw new Error('expected a failure');
    })();
    expect(error.message).toContain('e.csv: nothing loaded, the file has 22 problem(s):');
    expect(error.message).toContain('e.csv:21: column 2');
    expect(error.message).not.toContain('e.csv:22: column 2');
    expect(error.message).toContain('... and 2 more problems');
  });
});

test('JSON lines: a long bad line is located in a few parses, not one per character, and only the lines shown are located', () => {
  const long = `{"user_id": "u1", "time": "2026-11-20T10:00:00Z", "event_name": "${'x'.repeat(10_000)}" "coins_added": 1}`;
  let parses = 0;
  const parse = JSON.parse;
  JSON.parse = ((text: string, reviver?: (key: string, value: unknown) => unknown) => {
    parses += 1;
    return parse(text, reviver);
  }) as typeof JSON.parse;
  let message = '';
  try {
    parseJsonLinesEvents('e.jsonl', `${Array.from({ length: 100 }, () => long).join('\n')}\n`);
  } catch (error) {
    message = (error as Error).message;
  } finally {
    JSON.parse = parse;
  }
  expect(message).toContain(`e.jsonl:1: column ${long.indexOf('" "coins_added"') + 3}: not valid JSON`);
  expect(message).toContain('... and 80 more problems');
  // 100 first parses, then at most a bisection's worth for each of the 20 lines shown.
  expect(parses).toBeLessThan(100 + 20 * 20);
});

describe('JSON-lines events', () => {
  test('reads one object per line, skipping blank lines', () => {
    const text =
      '{"user_id":"u1","time":"2026-11-20T10:00:00Z","coins_added":5,"platform":"ANDROID","country":"Brazil"}\n\n{"user_id":"u2","time":"2026-11-20 11:00:00","event_name":null}\n';
    expect(parseJsonLinesEvents('e.jsonl', text)).toEqual([
      {
        user_id: 'u1',
        time: '2026-11-20T10:00:00.000Z',
        event_name: null,
        coins_added: 5,
        platform: 'ANDROID',
        country: 'Brazil',
      },
      {
        user_id: 'u2',
        time: '2026-11-20T11:00:00.000Z',
        event_name: null,
        coins_added: null,
        platform: null,
        country: null,
      },
    ]);
  });

  test.each([
    [
      'broken JSON',
      '{"user_id":"u1","time":"2026-11-20"}\n{"user_id": "u2", "time": }\n',
      'e.jsonl:2: column 27: not valid JSON',
    ],
    ['a non-object line', '[1,2]\n', 'e.jsonl:1: column 1: expected one JSON object per line'],
    ['a numeric user id', '{"user_id":7,"time":"2026-11-20"}\n', 'e.jsonl:1: column 2: user_id: expected text, got 7'],
    [
      'a country that is not text',
      '{"user_id":"u","time":"2026-11-20","country":{"code":"JP"}}\n',
      'e.jsonl:1: column 36: country: expected text, got {"code":"JP"}',
    ],
    [
      'a fractional coin count',
      '{"user_id":"u","time":"2026-11-20","coins_added":2.5}\n',
      'e.jsonl:1: column 36: coins_added: expected a whole number, got 2.5',
    ],
    [
      'an unknown field',
      '{"user_id":"u","time":"2026-11-20","os":"ios"}\n',
      'e.jsonl:1: column 36: unknown column "os"',
    ],
  ])('refuses %s with the line and column', (_name, text, message) => {
    expect(() => parseJsonLinesEvents('e.jsonl', text)).toThrow(message);
  });
});

test('the format comes from the extension', () => {
  expect(detectFormat('a/b.CSV')).toBe('csv');
  expect(detectFormat('b.ndjson')).toBe('jsonl');
  expect(detectFormat('b.json')).toBe('jsonl');
  expect(detectFormat('b.parquet')).toBe('parquet');
  expect(() => detectFormat('b.xlsx')).toThrow(UsageError);
});
