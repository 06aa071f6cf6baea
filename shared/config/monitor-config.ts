/**
 * The monitors' two configs, re-exported while importers move over: the KPI checks
 * (config/kpis_config.json) are ./kpi-checks.ts, the run-log checks (config/log_config.json)
 * ./log-checks.ts. Import from those in new code.
 */
export * from './kpi-checks';
export * from './log-checks';
