/** A KPI check as the config would load it, for detection tests that judge generated series. */
import { DETECTION_DEFAULTS, METHOD_DEFAULTS, type KpiCheck, type Method } from '../../shared/config/kpi-checks';

/** A weekly rhythm for generated daily values, Sunday first. */
export const WEEKLY = [1.25, 0.95, 0.95, 1.0, 1.0, 1.05, 1.3];

/** The dau check with `method`'s defaults, and `overrides` on top. */
export function check(method: Method, overrides: Partial<KpiCheck> = {}): KpiCheck {
  return {
    ...DETECTION_DEFAULTS,
    ...METHOD_DEFAULTS[method],
    name: 'dau',
    metric: 'dau',
    query: 'SELECT 1',
    sqlLabel: 'monitors/dau.sql',
    dataset: 'daily_kpis',
    table_id: 'daily_user_panel',
    first_seen: false,
    note: null,
    description: '',
    method,
    ...overrides,
  };
}
