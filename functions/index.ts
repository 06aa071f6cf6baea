/**
 * The package's main: registers the three functions with the functions-framework. Each deployed
 * function loads all three and serves the one its target names (etl, kpiMonitor, logMonitor);
 * their clients are built on the first event, so the others cost nothing.
 */
import './etl';
import './kpi-monitor';
import './log-monitor';

export const TARGETS = { etl: 'etl', 'kpi-monitor': 'kpiMonitor', 'log-monitor': 'logMonitor' } as const;
