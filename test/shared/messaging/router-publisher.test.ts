/** Publishing to the local router when none answers: the hint names the setting that chose the URL. */
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { openPublisher } from '../../../shared/ports';
import { parseSettings } from '../../../shared/settings';

/** A URL on a port nobody listens on now. */
async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

test('a router chosen by KPIS_PUBLISHER: the hint says to start it or change KPIS_PUBLISHER, not KPIS_ROUTER_URL', async () => {
  const url = await deadUrl();
  const { publisher: spec } = parseSettings({}, { KPIS_PUBLISHER: `router:${url}` });
  const publisher = await openPublisher(spec, () => new Date());
  const failure = publisher.publish('daily-kpis-alerts', {});
  await expect(failure).rejects.toThrow(
    `no local router answers at ${url}: start it with \`npm run serve\`, or point KPIS_PUBLISHER at one that runs`,
  );
  await expect(failure).rejects.not.toThrow('KPIS_ROUTER_URL');
});

test.each([['notaurl'], ['127.0.0.1:8080'], ['http://127.0.0.1:8080/v1'], ['ftp://127.0.0.1:8080']])(
  '--router and KPIS_ROUTER_URL %j are refused, naming the form',
  (raw) => {
    const form = `must be a router URL, http://HOST:PORT such as http://127.0.0.1:8080, got ${JSON.stringify(raw)}`;
    expect(() => parseSettings({ router: raw }, {})).toThrow(`--router ${form}`);
    expect(() => parseSettings({}, { KPIS_ROUTER_URL: raw })).toThrow(`KPIS_ROUTER_URL ${form}`);
  },
);

test('a router URL is kept without its trailing slash', () => {
  expect(parseSettings({ router: 'http://localhost:18080/' }, {}).routerUrl).toBe('http://localhost:18080');
  expect(parseSettings({}, {}).routerUrl).toBe('http://127.0.0.1:8080');
});
