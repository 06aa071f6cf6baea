/**
 * registerFunctions: the functions run on the runtime they are registered with (no runtime kept
 * by a module), only the deployed target when one is named, and registering again replaces them.
 * Over HTTP through the functions-framework; nothing is opened (a rejected message stops first).
 */
import { getFunction } from '@google-cloud/functions-framework/testing';
import { registerFunctions, TARGETS } from '../../functions/register';
import { createLogger } from '../../shared/log';
import { TOPICS } from '../../shared/messaging/publisher';
import { createFunctionRuntime, type FunctionRuntime } from '../../shared/pipeline/function-runtime';
import { openPorts } from '../../shared/ports';
import { post, pubsubEvent, withFunctionServer } from '../helpers/functions';
import { tempDir, topicMessages } from '../helpers/history';
import { parseSettings } from '../../shared/settings';

/** A runtime that writes its log lines to `lines` and opens no ports. */
function runtimeLogging(lines: { function?: string; message: string }[]): FunctionRuntime {
  return createFunctionRuntime({
    env: {},
    logger: createLogger({ level: 'WARNING', write: (line) => lines.push(JSON.parse(line) as (typeof lines)[number]) }),
    openPorts: () => Promise.reject(new Error('not opened in this test')),
  });
}

test('a named target registers that function alone; registering again moves the functions to the new runtime', async () => {
  const first: { function?: string; message: string }[] = [];
  registerFunctions(runtimeLogging(first), TARGETS['log-monitor']);
  expect(getFunction(TARGETS.etl)).toBeUndefined();
  expect(getFunction(TARGETS['kpi-monitor'])).toBeUndefined();
  expect(await withFunctionServer(TARGETS['log-monitor'], (url) => post(url, pubsubEvent('not json')))).toBe(204);
  expect(first).toEqual([
    expect.objectContaining({
      function: 'log-monitor',
      message: 'message rejected and acknowledged: it can never succeed',
    }),
  ]);

  const second: { function?: string; message: string }[] = [];
  registerFunctions(runtimeLogging(second));
  for (const target of Object.values(TARGETS)) {
    expect(await withFunctionServer(target, (url) => post(url, pubsubEvent('not json')))).toBe(204);
  }
  expect(second.map((line) => line.function)).toEqual(['etl', 'kpi-monitor', 'log-monitor']);
  expect(first).toHaveLength(1);
});

test('a publisher spec given as a value wins over $KPIS_PUBLISHER (the local stack passes its router so)', async () => {
  const dir = tempDir();
  const env = { KPIS_WAREHOUSE: 'duckdb::memory:', KPIS_PUBLISHER: 'router:http://127.0.0.1:9' };
  const options = {
    settings: parseSettings({}, env),
    env,
    logger: createLogger({ level: 'ERROR' }),
    clock: () => new Date(),
  };
  expect(options.settings.publisher).toEqual({ kind: 'router', url: 'http://127.0.0.1:9' });
  const ports = await openPorts({ ...options, publisher: { kind: 'local', dir } });
  try {
    await ports.publisher.publish(TOPICS.alerts, { hello: 1 });
    expect(topicMessages(dir, TOPICS.alerts).map((message) => message.data)).toEqual([{ hello: 1 }]);
  } finally {
    await ports.close();
  }
});
