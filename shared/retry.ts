/** Bounded retries with exponential backoff and jitter, for failures known to be transient. */

export interface RetryPolicy {
  /** Total tries, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 1000, maxDelayMs: 30_000 };

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Calls `fn(attempt)` until it succeeds, `isTransient` says an error is final, or the attempts run
 * out; the last error is thrown as it is.
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  isTransient: (error: unknown) => boolean,
  policy: RetryPolicy = DEFAULT_RETRY,
  onRetry: (error: unknown, attempt: number, delayMs: number) => void = () => undefined,
): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt >= policy.attempts || !isTransient(error)) throw error;
      const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      const delayMs = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
      onRetry(error, attempt, delayMs);
      await sleep(delayMs);
    }
  }
}
