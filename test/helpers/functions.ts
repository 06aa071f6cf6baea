/**
 * Driving the registered functions over real HTTP, through the functions-framework's testing
 * server, with Pub/Sub CloudEvents shaped as Eventarc delivers them.
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { registerFunctions } from '../../functions/register';
import {
  createFunctionRuntime,
  type FunctionRuntime,
  type RuntimeOptions,
} from '../../shared/pipeline/function-runtime';

export interface EventOptions {
  messageId?: string;
  publishTime?: string;
  attributes?: Record<string, string>;
  topic?: string;
}

/** A binary-mode CloudEvent of a Pub/Sub message; a string is sent as raw data, anything else as JSON. */
export function pubsubEvent(data: unknown, options: EventOptions = {}) {
  const messageId = options.messageId ?? randomUUID();
  const publishTime = options.publishTime ?? new Date().toISOString();
  const raw = typeof data === 'string' ? data : JSON.stringify(data);
  return {
    headers: {
      'content-type': 'application/json',
      'ce-id': messageId,
      'ce-specversion': '1.0',
      'ce-type': 'google.cloud.pubsub.topic.v1.messagePublished',
      'ce-source': `//pubsub.googleapis.com/projects/test-project/topics/${options.topic ?? 'daily-kpis-trigger'}`,
      'ce-time': publishTime,
    },
    body: JSON.stringify({
      message: {
        data: Buffer.from(raw).toString('base64'),
        attributes: options.attributes ?? {},
        messageId,
        publishTime,
      },
      subscription: 'projects/test-project/subscriptions/test',
    }),
    messageId,
  };
}

/** Serves a registered function on a free port for the duration of `work`. */
export async function withFunctionServer<T>(target: string, work: (url: string) => Promise<T>): Promise<T> {
  const server = getTestServer(target);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    return await work(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

export async function post(url: string, event: { headers: Record<string, string>; body: string }): Promise<number> {
  const response = await fetch(url, { method: 'POST', headers: event.headers, body: event.body });
  await response.arrayBuffer();
  return response.status;
}

/** Sets environment variables for the function runtime and gives back a function that restores them. */
export function setEnv(values: Record<string, string>): () => void {
  const saved = Object.fromEntries(Object.keys(values).map((key) => [key, process.env[key]]));
  Object.assign(process.env, values);
  return () => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
}

/**
 * Builds the functions' runtime from this environment (and the options given) and registers the
 * three functions on it; close it when done. process.env is left alone.
 */
export function useFunctionRuntime(env: NodeJS.ProcessEnv, options: Omit<RuntimeOptions, 'env'> = {}): FunctionRuntime {
  const runtime = createFunctionRuntime({ env, ...options });
  registerFunctions(runtime);
  return runtime;
}

/**
 * Polls `probe` every 250 ms until it finds something, up to a generous deadline: a wait on an
 * event, not a timing assertion.
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs / 1000} s for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
