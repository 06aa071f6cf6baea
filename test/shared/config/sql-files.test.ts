/**
 * A config entry's `sql` file stays inside the config's folder, symbolic links followed: a link
 * to a file outside it is refused like `../outside.sql`, a link that stays inside is fine, and so
 * is a config folder reached through a link.
 */
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadKpiChecks } from '../../../shared/config/kpi-checks';
import { ConfigError } from '../../../shared/errors';

const root = mkdtempSync(path.join(tmpdir(), 'kpis-sql-files-'));
const folder = path.join(root, 'config');
const outside = path.join(root, 'elsewhere');
mkdirSync(folder);
mkdirSync(outside);
const query = 'SELECT date AS day, COUNT(*) AS value FROM {{daily_user_panel}} GROUP BY date';
writeFileSync(path.join(folder, 'real.sql'), query);
writeFileSync(path.join(outside, 'secret.sql'), query);
symlinkSync(path.join(outside, 'secret.sql'), path.join(folder, 'escapes.sql'));
symlinkSync(path.join(folder, 'real.sql'), path.join(folder, 'stays.sql'));
symlinkSync(outside, path.join(folder, 'sub'));
symlinkSync(folder, path.join(root, 'linked-config'));

const config = (dir: string, sql: string) => {
  const file = path.join(dir, `kpis-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify({ kpis: { c: { sql } } }));
  return file;
};

test.each(['escapes.sql', 'sub/secret.sql', '../elsewhere/secret.sql'])(
  '%s, a file outside the config folder: refused',
  (sql) => {
    const file = config(folder, sql);
    expect(() => loadKpiChecks(file)).toThrow(ConfigError);
    expect(() => loadKpiChecks(file)).toThrow(`$.kpis.c.sql: ${JSON.stringify(sql)} is outside the config's folder`);
  },
);

test('a link that stays inside, and a config folder reached through a link: accepted', () => {
  expect(loadKpiChecks(config(folder, 'stays.sql'))[0]?.query).toBe(query);
  expect(loadKpiChecks(config(path.join(root, 'linked-config'), 'real.sql'))[0]?.query).toBe(query);
});
