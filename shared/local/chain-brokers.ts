/**
 * What `npm start` needs of the Pub/Sub it runs on: publish the scheduler's trigger, then wait
 * until everything the trigger caused has finished and say what came out. The router knows that
 * itself (it holds every delivery); on the emulator it is read from pull subscriptions and from
 * the run log, where each monitor writes its `end` (or `error`) row last.
 */
import type { Alert } from '../alerts/alert';
import type { EtlResult } from '../etl/run-etl';
import { TOPICS } from '../messaging/publisher';
import { runIdFor } from '../pipeline/function-runtime';
import type { Warehouse } from '../warehouse/warehouse';
import { RUN_LOG_TABLE } from '../schema';
import { renderSqlFile } from '../sql';
import type { EmulatorAdmin, ReceivedMessage } from './emulator';
import type { LocalRouter } from './router';

export interface ChainOutcome {
  /** The completion event the etl function published for the trigger. */
  completion: EtlResult | null;
  /** The alerts published since the trigger. */
  alertIds: string[];
  /** Deliveries that failed on every attempt. */
  deadLetters: number;
}

export interface ChainBroker {
  /** Publishes the trigger; resolves with its message id. */
  publishTrigger(data: unknown): Promise<string>;
  /** Resolves once the trigger's run and both monitors are done (or the run was dead-lettered). */
  settle(triggerId: string): Promise<ChainOutcome>;
}

export function routerBroker(router: LocalRouter): ChainBroker {
  let firstNew = 0;
  let firstDeadLetter = 0;
  return {
    publishTrigger(data) {
      firstNew = router.published.length;
      firstDeadLetter = router.deadLettered.length;
      return router.publish(TOPICS.trigger, data);
    },
    async settle(triggerId) {
      await router.idle();
      const published = router.published.slice(firstNew);
      const completion = published.find(
        (record) =>
          record.topic === TOPICS.completed && (record.data as EtlResult).run_id === runIdFor('etl', triggerId),
      );
      return {
        completion: completion ? (completion.data as EtlResult) : null,
        alertIds: published
          .filter((record) => record.topic === TOPICS.alerts)
          .map((record) => (record.data as Alert).alert_id),
        deadLetters: router.deadLettered.length - firstDeadLetter,
      };
    },
  };
}

export interface EmulatorSubscriptions {
  alerts: string;
  deadLetter: string;
  /** Made by this broker, before the trigger, so it sees the completion event. */
  completions: string;
}

/**
 * On the emulator. `timeoutMs` bounds the whole wait: a run that neither completes nor is
 * dead-lettered (5 deliveries with backoff) within it is reported as missing.
 */
export function emulatorBroker(
  admin: EmulatorAdmin,
  warehouse: Warehouse,
  subscriptions: EmulatorSubscriptions,
  timeoutMs = 10 * 60_000,
): ChainBroker {
  return {
    async publishTrigger(data) {
      await admin.createPullSubscription(subscriptions.completions, TOPICS.completed);
      // Alerts left over from an earlier trigger on this emulator are not this run's.
      await admin.pullAndAck(subscriptions.alerts);
      return admin.publish(TOPICS.trigger, Buffer.from(JSON.stringify(data)));
    },
    async settle(triggerId) {
      const deadline = Date.now() + timeoutMs;
      const completions: ReceivedMessage[] = [];
      let deadLetters = 0;
      let completion: { messageId: string; result: EtlResult } | undefined;
      while (!completion && deadLetters === 0 && Date.now() < deadline) {
        completions.push(...(await admin.pullAndAck(subscriptions.completions)));
        deadLetters += (await admin.pullAndAck(subscriptions.deadLetter)).length;
        const found = completions.find(
          (message) => (JSON.parse(message.data.toString('utf8')) as EtlResult).run_id === runIdFor('etl', triggerId),
        );
        completion = found && {
          messageId: found.messageId,
          result: JSON.parse(found.data.toString('utf8')) as EtlResult,
        };
        if (!completion) await sleep(250);
      }
      if (completion) await monitorsDone(warehouse, completion.messageId, deadline);
      deadLetters += (await admin.pullAndAck(subscriptions.deadLetter)).length;
      const alerts = await admin.pullAndAck(subscriptions.alerts);
      return {
        completion: completion?.result ?? null,
        alertIds: alerts.map((message) => (JSON.parse(message.data.toString('utf8')) as Alert).alert_id),
        deadLetters,
      };
    },
  };
}

/** Waits for both monitors' last run-log row about the completion event (their run ids come from its message id). */
async function monitorsDone(warehouse: Warehouse, completionId: string, deadline: number): Promise<void> {
  const sql = renderSqlFile('logs/runs_ended.sql', {
    daily_logs: warehouse.tableRef(RUN_LOG_TABLE.dataset, RUN_LOG_TABLE.table),
  });
  const params = {
    first_uid: { type: 'STRING', value: `kpi-monitor-${completionId}` },
    second_uid: { type: 'STRING', value: `log-monitor-${completionId}` },
  } as const;
  while (Date.now() < deadline) {
    if (
      (await warehouse.query(sql, params, { job: 'start', runId: completionId, sqlFile: 'logs/runs_ended.sql' }))
        .length === 2
    )
      return;
    await sleep(250);
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
