/** Bounded retries with exponential backoff and jitter, for failures known to be transient. */

export interface RetryPolicy {
  /** Total tries, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 1000, maxDelayMs: 30_000 };

/**
 * For a transaction aborted by another one on the same tables (a backfill while the scheduled run
 * works): the other run takes minutes, not seconds, so the wait grows to a minute and the tries
 * span about six minutes, inside the etl function's nine.
 */
export const CONCURRENCY_RETRY: RetryPolicy = { attempts: 10, baseDelayMs: 2000, maxDelayMs: 60_000 };

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Calls `fn(attempt)` until it succeeds, `isTransient` says an error is final, or the attempts run
 * out; the last error is thrown as it is.
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  isTransient: (error: unknown) => boolean,
  policyOrChooser: RetryPolicy | ((error: unknown) => RetryPolicy) = DEFAULT_RETRY,
  onRetry: (error: unknown, attempt: number, delayMs: number) => void = () => undefined,
): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await fn(attempt);
    } catch (error) {
      // Some failures deserve a longer wait than others: the policy may depend on the error.
      const policy = typeof policyOrChooser === 'function' ? policyOrChooser(error) : policyOrChooser;
      if (attempt >= policy.attempts || !isTransient(error)) throw error;
      const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      const delayMs = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
      onRetry(error, attempt, delayMs);
      await sleep(delayMs);
    }
  }
}
