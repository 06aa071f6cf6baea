/**
 * Registers the three functions with the functions-framework, each running on the runtime it is
 * given: the deployed entry point's (functions/index.ts), the local stack's, a test's. The
 * framework keeps one handler per target name, so registering again replaces the handlers.
 */
import * as functions from '@google-cloud/functions-framework';
import type { FunctionName, FunctionRuntime } from '../shared/pipeline/function-runtime';
import { pubsubHandler, type FunctionWork } from '../shared/pipeline/pubsub-handler';
import { etlWork } from './etl';
import { kpiMonitorWork } from './kpi-monitor';
import { logMonitorWork } from './log-monitor';

/** Each function's target name: what FUNCTION_TARGET and deploy.sh's --entry-point say. */
export const TARGETS = { etl: 'etl', 'kpi-monitor': 'kpiMonitor', 'log-monitor': 'logMonitor' } as const;

const WORK = new Map<FunctionName, FunctionWork>([
  ['etl', etlWork],
  ['kpi-monitor', kpiMonitorWork],
  ['log-monitor', logMonitorWork],
]);

/** A runtime, or what gives it at each delivery (built on first use, or not yet built). */
type RuntimeSource = FunctionRuntime | (() => FunctionRuntime);

/**
 * Registers the functions on `runtime`: all three, or only the one whose target `onlyTarget` names
 * (a deployed function's FUNCTION_TARGET; a name that is none of them registers nothing).
 */
export function registerFunctions(runtime: RuntimeSource, onlyTarget?: string): void {
  const source = typeof runtime === 'function' ? runtime : () => runtime;
  for (const [name, work] of WORK) {
    const target = TARGETS[name];
    if (onlyTarget === undefined || onlyTarget === target)
      functions.cloudEvent(target, pubsubHandler(name, work, source));
  }
}
