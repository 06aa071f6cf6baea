/**
 * The package's main: registers the functions with the functions-framework. A deployed function
 * (FUNCTION_TARGET set) loads only its own; locally and in tests all three are registered. Their
 * use-cases, configs and clients load on the first event.
 */
export const TARGETS = { etl: 'etl', 'kpi-monitor': 'kpiMonitor', 'log-monitor': 'logMonitor' } as const;

const target = process.env.FUNCTION_TARGET;
/* eslint-disable @typescript-eslint/no-require-imports -- a conditional load is the point: one target's module, not three */
if (!target || target === TARGETS.etl) require('./etl');
if (!target || target === TARGETS['kpi-monitor']) require('./kpi-monitor');
if (!target || target === TARGETS['log-monitor']) require('./log-monitor');
/* eslint-enable @typescript-eslint/no-require-imports */
