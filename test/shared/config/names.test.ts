/** Reserved names found anywhere in parsed JSON, and the job-name rule of --etl-name. */
import { jobNameProblem, reservedKeyPath } from '../../../shared/config/names';

test.each([
  ['{"a": {"b": [1, {"__proto__": {}}]}}', '$.a.b[1].__proto__'],
  ['{"kpis": {"constructor": {}}}', '$.kpis.constructor'],
  ['[{"x": {"prototype": 1}}]', '$[0].x.prototype'],
  ['{"toString": {"valueOf": "constructor"}}', null],
  ['"__proto__"', null],
])('%s: %s', (text, path) => {
  expect(reservedKeyPath(JSON.parse(text))).toBe(path);
});

test('JSON nested 100,000 deep is walked without overflowing the stack', () => {
  const depth = 100_000;
  const text = `${'{"a":'.repeat(depth)}{"__proto__":1}${'}'.repeat(depth)}`;
  expect(reservedKeyPath(JSON.parse(text))?.endsWith('.a.__proto__')).toBe(true);
});

test.each([
  ['daily_kpis', null],
  ['kpis', null],
  ['log', null],
  ['daily-kpis.v2', null],
  ['no spaces', 'letters, digits'],
  ['', 'letters, digits'],
  ['x'.repeat(129), 'up to 128'],
  ['-flag', 'starting with'],
  ['__proto__', 'not __proto__, constructor, prototype'],
  ['constructor', 'not __proto__'],
])('job name %j', (name, problem) => {
  const found = jobNameProblem(name);
  if (problem === null) expect(found).toBeNull();
  else expect(found).toContain(problem);
});
