/**
 * The local router's publish call on hostile bodies: each is refused with 400 and a reason, and
 * nothing is written or delivered.
 */
import { readdirSync } from 'node:fs';
import { LocalRouter } from '../../../shared/local/router';
import { silentLogger } from '../../../shared/log';
import { tempDir } from '../../helpers/history';

const DEPTH = 100_000;
const nestedArray = `${'['.repeat(DEPTH)}${']'.repeat(DEPTH)}`;
const nestedObject = `${'{"a":'.repeat(DEPTH)}1${'}'.repeat(DEPTH)}`;

let router: LocalRouter;
let url: string;
let dir: string;

beforeAll(async () => {
  dir = tempDir();
  router = new LocalRouter({
    topicsDir: dir,
    clock: () => new Date('2026-11-27T06:00:00Z'),
    logger: silentLogger,
    subscriptions: [],
  });
  url = await router.listen(0);
});
afterAll(() => router.close());

describe('a 100,000-level nested JSON is refused with 400 and a reason, not a 500', () => {
  test.each([
    [
      'in the message data',
      JSON.stringify({ messages: [{ data: Buffer.from(nestedArray).toString('base64') }] }),
      /nested/,
    ],
    ['in the attributes', `{"messages":[{"data":"","attributes":${nestedObject}}]}`, /attributes/],
    ['as the messages', `{"messages":${nestedArray}}`, /messages/],
  ])('%s', async (_name, body, reason) => {
    const response = await fetch(`${url}/v1/projects/any/topics/daily-kpis-heartbeat:publish`, {
      method: 'POST',
      body,
    });
    const answer = (await response.json()) as { error: string };
    expect({ status: response.status, error: answer.error }).toEqual({
      status: 400,
      error: expect.stringMatching(reason),
    });
    expect(readdirSync(dir)).toEqual([]);
    expect(router.published).toEqual([]);
  });
});

describe('a topic the router does not know is NOT_FOUND, as Pub/Sub answers', () => {
  test('404 with Pub/Sub error shape, nothing written; a known topic is published', async () => {
    const publish = (topic: string) =>
      fetch(`${url}/v1/projects/any/topics/${topic}:publish`, {
        method: 'POST',
        body: JSON.stringify({ messages: [{ data: '' }] }),
      });
    const missing = await publish('daily-kpis-triger');
    expect({ status: missing.status, body: await missing.json() }).toEqual({
      status: 404,
      body: { error: { code: 404, message: 'Resource not found (resource=daily-kpis-triger).', status: 'NOT_FOUND' } },
    });
    expect(readdirSync(dir)).toEqual([]);
    expect(router.published).toEqual([]);
    expect((await publish('daily-kpis-heartbeat')).status).toBe(200);
    expect(router.published.map((record) => record.topic)).toEqual(['daily-kpis-heartbeat']);
  });
});
