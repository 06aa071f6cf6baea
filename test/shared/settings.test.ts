/**
 * parseSettings: each setting's flag beats its variable, which beats the default; an empty
 * variable is unset; a bad value names the flag (a usage error) or the variable (a config error)
 * and what it accepts.
 */
import { DEFAULT_CALENDAR } from '../../shared/config/calendar';
import { DEFAULT_CONFIG_FILES } from '../../shared/config/defaults';
import { DEFAULT_ETL_CONFIG } from '../../shared/config/etl-config';
import { DEFAULT_KPIS_CONFIG } from '../../shared/config/kpi-checks';
import { DEFAULT_LOG_CONFIG } from '../../shared/config/log-checks';
import { ConfigError, UsageError } from '../../shared/errors';
import { parseSettings, type Settings } from '../../shared/settings';

describe('flag, else variable, else default', () => {
  test.each<[keyof Settings, string, string, Record<string, string>, unknown, unknown, unknown]>([
    [
      'warehouse',
      'warehouse',
      'KPIS_WAREHOUSE',
      { flag: 'duckdb:a.duckdb', env: 'bigquery:proj-one' },
      { engine: 'duckdb', path: 'a.duckdb' },
      { engine: 'bigquery', projectId: 'proj-one' },
      { engine: 'duckdb', path: '.data/warehouse.duckdb' },
    ],
    [
      'etlConfig',
      'config',
      'KPIS_CONFIG',
      { flag: 'flag.json', env: 'env.json' },
      'flag.json',
      'env.json',
      DEFAULT_CONFIG_FILES.etl,
    ],
    [
      'kpisConfig',
      'kpis-config',
      'KPIS_MONITOR_CONFIG',
      { flag: 'flag.json', env: 'env.json' },
      'flag.json',
      'env.json',
      DEFAULT_CONFIG_FILES.kpis,
    ],
    [
      'routerUrl',
      'router',
      'KPIS_ROUTER_URL',
      { flag: 'http://127.0.0.1:1', env: 'http://127.0.0.1:2' },
      'http://127.0.0.1:1',
      'http://127.0.0.1:2',
      'http://127.0.0.1:8080',
    ],
    ['etlPort', 'etl-port', 'KPIS_ETL_PORT', { flag: '0', env: '9001' }, 0, 9001, 8081],
  ])('%s: --%s, else $%s, else the default', (name, flag, variable, raw, fromFlag, fromEnv, fallback) => {
    expect(parseSettings({ [flag]: raw.flag }, { [variable]: raw.env })[name]).toEqual(fromFlag);
    expect(parseSettings({}, { [variable]: raw.env })[name]).toEqual(fromEnv);
    expect(parseSettings({}, {})[name]).toEqual(fallback);
    expect(parseSettings({}, { [variable]: '' })[name]).toEqual(fallback);
  });

  test('a variable only: empty is unset, so `VAR=` in a deployment falls back to the default', () => {
    const empty = parseSettings(
      {},
      {
        KPIS_LOG_LEVEL: '',
        KPIS_NOW: '',
        KPIS_MAX_RANGE_DAYS: '',
        KPIS_BQ_LOCATION: '',
        KPIS_PUBLISHER: '',
        KPIS_SECRETS: '',
      },
    );
    expect(empty).toMatchObject({
      logLevel: undefined,
      now: undefined,
      maxRangeDays: 366,
      bqLocation: 'US',
      secrets: { kind: 'env' },
    });
    expect(empty.publisher).toEqual({ kind: 'local', dir: '.data/topics' });
    const set = parseSettings(
      {},
      {
        KPIS_LOG_LEVEL: 'warn',
        KPIS_NOW: '2026-11-27T06:00:00Z',
        KPIS_MAX_RANGE_DAYS: '2.5',
        KPIS_MAX_BYTES_BILLED: '1000',
      },
    );
    expect(set).toMatchObject({
      logLevel: 'WARNING',
      now: new Date('2026-11-27T06:00:00Z'),
      maxRangeDays: 2.5,
      maxBytesBilled: 1000,
    });
  });

  test('a flag a command does not take (not a string) leaves the variable in charge', () => {
    expect(parseSettings({ config: true, verbose: true }, { KPIS_CONFIG: 'env.json' }).etlConfig).toBe('env.json');
  });

  test("an entry point's own defaults give way to the variable and the flag (`kpis start`'s demo calendar)", () => {
    expect(parseSettings({}, {}, { calendar: 'demo.json' }).calendar).toBe('demo.json');
    expect(parseSettings({}, { KPIS_CALENDAR: 'env.json' }, { calendar: 'demo.json' }).calendar).toBe('env.json');
    expect(
      parseSettings({ calendar: 'flag.json' }, { KPIS_CALENDAR: 'env.json' }, { calendar: 'demo.json' }).calendar,
    ).toBe('flag.json');
  });
});

describe('the publisher: KPIS_PUBLISHER, else the emulator at PUBSUB_EMULATOR_HOST, else local files', () => {
  test.each([
    [{}, { kind: 'local', dir: '.data/topics' }],
    [{ KPIS_TOPICS_DIR: '/tmp/t' }, { kind: 'local', dir: '/tmp/t' }],
    [{ PUBSUB_EMULATOR_HOST: '127.0.0.1:8085' }, { kind: 'pubsub', projectId: 'local-project' }],
    [
      { PUBSUB_EMULATOR_HOST: '127.0.0.1:8085', PUBSUB_PROJECT_ID: 'demo-project' },
      { kind: 'pubsub', projectId: 'demo-project' },
    ],
    [
      { PUBSUB_EMULATOR_HOST: '127.0.0.1:8085', KPIS_PUBLISHER: 'local', KPIS_TOPICS_DIR: '/tmp/t' },
      { kind: 'local', dir: '/tmp/t' },
    ],
    [{ KPIS_PUBLISHER: 'router:http://127.0.0.1:8080' }, { kind: 'router', url: 'http://127.0.0.1:8080' }],
  ])('%j', (env, expected) => {
    expect(parseSettings({}, env).publisher).toEqual(expected);
  });
});

describe('a bad value names the flag or the variable, and what it accepts', () => {
  test.each<[Record<string, string>, Record<string, string>, string, typeof UsageError]>([
    [
      { warehouse: 'sqlite:x.db' },
      {},
      '--warehouse must be duckdb:PATH or bigquery:PROJECT_ID, got "sqlite:x.db"',
      UsageError,
    ],
    [
      {},
      { KPIS_WAREHOUSE: 'sqlite:x.db' },
      'KPIS_WAREHOUSE must be duckdb:PATH or bigquery:PROJECT_ID, got "sqlite:x.db"',
      ConfigError,
    ],
    [
      {},
      { KPIS_WAREHOUSE: 'bigquery:' },
      'KPIS_WAREHOUSE bigquery:PROJECT_ID needs a Google Cloud project id, got ""',
      ConfigError,
    ],
    [{ 'etl-port': 'eighty' }, {}, '--etl-port must be a port number from 0 to 65535, got "eighty"', UsageError],
    [{}, { KPIS_ETL_PORT: '70000' }, 'KPIS_ETL_PORT must be a port number from 0 to 65535, got "70000"', ConfigError],
    [
      {},
      { KPIS_LOG_LEVEL: 'LOUD' },
      'KPIS_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, got "LOUD"',
      ConfigError,
    ],
    [
      {},
      { KPIS_NOW: 'yesterday' },
      'KPIS_NOW must be an ISO timestamp such as 2026-11-27T06:00:00Z, got "yesterday"',
      ConfigError,
    ],
    [
      {},
      { KPIS_MAX_EVENT_AGE_HOURS: '-1' },
      'KPIS_MAX_EVENT_AGE_HOURS must be a positive number, got "-1"',
      ConfigError,
    ],
    [
      {},
      { KPIS_MAX_BYTES_BILLED: '1.5' },
      'KPIS_MAX_BYTES_BILLED must be a positive whole number of bytes, got "1.5"',
      ConfigError,
    ],
    [
      {},
      { KPIS_MAX_BYTES_BILLED: 'lots' },
      'KPIS_MAX_BYTES_BILLED must be a positive whole number of bytes, got "lots"',
      ConfigError,
    ],
    [
      {},
      { KPIS_PUBLISHER: 'pubsub' },
      'KPIS_PUBLISHER must be local, router:http://HOST:PORT or pubsub:PROJECT_ID, got "pubsub"',
      ConfigError,
    ],
    // The publisher derived from the emulator's variables: the error names them, not KPIS_PUBLISHER the user never set.
    [
      {},
      { PUBSUB_EMULATOR_HOST: 'h:1', PUBSUB_PROJECT_ID: 'X' },
      'PUBSUB_PROJECT_ID must be a Google Cloud project id such as my-project (a lowercase letter, then 4 or more lowercase letters, digits or hyphens), got "X" (the emulator\'s project: PUBSUB_EMULATOR_HOST is set and KPIS_PUBLISHER is not)',
      ConfigError,
    ],
    [{}, { KPIS_SECRETS: 'vault' }, 'KPIS_SECRETS must be env or secret-manager:PROJECT_ID, got "vault"', ConfigError],
  ])('%j %j', (flags, env, message, kind) => {
    expect(() => parseSettings(flags, env)).toThrow(kind);
    expect(() => parseSettings(flags, env)).toThrow(message);
  });
});

test('the config files default to the files the loaders ship with', () => {
  expect(DEFAULT_CONFIG_FILES).toEqual({
    etl: DEFAULT_ETL_CONFIG,
    kpis: DEFAULT_KPIS_CONFIG,
    logs: DEFAULT_LOG_CONFIG,
    calendar: DEFAULT_CALENDAR,
  });
});
