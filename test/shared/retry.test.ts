import { withRetry } from '../../shared/retry';

const policy = { attempts: 4, baseDelayMs: 1, maxDelayMs: 2 };
const transient = (error: unknown) => (error as Error).message === 'transient';

test('retries transient failures until one succeeds', async () => {
  const attempts: number[] = [];
  const result = await withRetry(
    async (attempt) => {
      attempts.push(attempt);
      if (attempt < 3) throw new Error('transient');
      return 'done';
    },
    transient,
    policy,
  );
  expect(result).toBe('done');
  expect(attempts).toEqual([1, 2, 3]);
});

test('stops at the bounded number of attempts and throws the last error', async () => {
  let calls = 0;
  await expect(
    withRetry(
      async () => {
        calls += 1;
        throw new Error('transient');
      },
      transient,
      policy,
    ),
  ).rejects.toThrow('transient');
  expect(calls).toBe(4);
});

test('never retries a permanent failure, and reports each retry', async () => {
  const retries: number[] = [];
  let calls = 0;
  await expect(
    withRetry(
      async () => {
        calls += 1;
        throw new Error(calls === 1 ? 'transient' : 'permanent');
      },
      transient,
      policy,
      (_error, attempt) => retries.push(attempt),
    ),
  ).rejects.toThrow('permanent');
  expect(calls).toBe(2);
  expect(retries).toEqual([1]);
});
