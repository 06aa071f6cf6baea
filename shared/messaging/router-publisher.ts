/**
 * Publishing to the local push router over HTTP, with the request shape of Pub/Sub's REST API
 * (`POST /v1/projects/P/topics/T:publish`), so `kpis publish`, curl and the functions served by
 * `npm run serve` all reach the same router.
 */
import { PublishError, settingError, TopicNotFoundError } from '../errors';
import type { Attributes, Publisher } from './publisher';

export const LOCAL_PROJECT = 'local-project';
export const DEFAULT_ROUTER_URL = 'http://127.0.0.1:8080';

/** `--router`'s or KPIS_ROUTER_URL's value, http://HOST:PORT (a trailing slash dropped); else a settingError naming `source`. */
export function parseRouterUrl(raw: string, source: string): string {
  const url = raw.replace(/\/+$/, '');
  if (!/^https?:\/\/[^/\s?#]+$/.test(url) || !URL.canParse(url)) {
    throw settingError(
      source,
      `must be a router URL, http://HOST:PORT such as ${DEFAULT_ROUTER_URL}, got ${JSON.stringify(raw)}`,
    );
  }
  return url;
}

export class RouterPublisher implements Publisher {
  /** `setBy` names what chose the URL (KPIS_PUBLISHER, --router): the hint when no router answers says to change it. */
  constructor(
    readonly url: string = DEFAULT_ROUTER_URL,
    private readonly setBy = 'KPIS_PUBLISHER',
  ) {}

  publish(topic: string, data: unknown, attributes: Attributes = {}): Promise<string> {
    return this.publishRaw(topic, Buffer.from(JSON.stringify(data)), attributes);
  }

  async publishRaw(topic: string, data: Buffer, attributes: Attributes = {}): Promise<string> {
    const endpoint = `${this.url}/v1/projects/${LOCAL_PROJECT}/topics/${encodeURIComponent(topic)}:publish`;
    let response: Response;
    try {
      response = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ messages: [{ data: data.toString('base64'), attributes }] }),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (error) {
      throw new PublishError(
        `no local router answers at ${this.url}: start it with \`npm run serve\`, or point ${this.setBy} at one that runs`,
        { cause: error },
      );
    }
    const body = (await response.json().catch(() => ({}))) as {
      messageIds?: string[];
      error?: string | { status?: string };
    };
    if (typeof body.error === 'object' && body.error?.status === 'NOT_FOUND')
      throw new TopicNotFoundError(topic, `the local router ${this.url}`);
    if (!response.ok || !body.messageIds?.[0])
      throw new PublishError(
        `the local router refused the message for ${topic}: HTTP ${response.status} ${typeof body.error === 'string' ? body.error : JSON.stringify(body.error ?? '')}`.trim(),
      );
    return body.messageIds[0];
  }

  async close(): Promise<void> {}
}
