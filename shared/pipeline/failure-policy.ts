/**
 * What a failed delivery answers, in the order it is decided:
 * 1. a message that can never succeed (InvalidMessageError, UsageError: bad date, unknown field,
 *    a range too long) is logged with the reason and acknowledged: no retry, nothing written;
 * 2. a permanent failure (SQL or schema error, a missing table, config) is logged and
 *    acknowledged: the etl function has already published its failed completion event;
 * 3. a transient failure (isTransientFailure) throws, so Pub/Sub delivers the message again
 *    (bounded by the subscription's delivery attempts, then the dead-letter topic).
 */
import { InvalidMessageError, isTransientFailure, toError, UsageError } from '../errors';
import type { Logger } from '../log';

export const REJECTED = 'message rejected and acknowledged: it can never succeed';

type FailureVerdict = 'rejected' | 'permanent' | 'transient';

/** Which of the three a failure is. */
function classifyFailure(failure: Error): FailureVerdict {
  if (failure instanceof InvalidMessageError || failure instanceof UsageError) return 'rejected';
  return isTransientFailure(failure) ? 'transient' : 'permanent';
}

/** Logs a failed run of message `messageId`; acknowledges it (returns) or throws for a redelivery. */
export function settleFailure(thrown: unknown, logger: Logger, messageId: string): void {
  const failure = toError(thrown);
  const verdict = classifyFailure(failure);
  if (verdict === 'rejected') {
    logger.error(REJECTED, { reason: failure.message, message_id: messageId });
    return;
  }
  if (verdict === 'permanent') {
    // Retrying would fail the same way until someone fixes the cause; then a new message reruns it.
    logger.error('failed permanently: acknowledged, not retried', { error: failure.message, message_id: messageId });
    return;
  }
  logger.error('failed; Pub/Sub will deliver the message again', { error: failure.message, message_id: messageId });
  throw failure;
}
