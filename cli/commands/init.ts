/** `kpis init`: create the datasets and tables. */
import { initWarehouse } from '../../shared/etl/init';
import { printJson, withRuntime, type Command } from '../command';
import { cliSettings, describeWarehouse } from '../context';

export const initCommand: Command = {
  summary: 'create the datasets and tables (idempotent)',
  usage: 'kpis init [--warehouse SPEC] [--json]',
  details:
    'Creates every dataset and table of the config and the run log, with partitioning, clustering\nand descriptions on BigQuery. Safe to run again.',
  options: {},
  async run(values, _positionals, io) {
    return withRuntime(cliSettings(values, io), values, io, async (runtime) => {
      const tables = await initWarehouse(runtime.warehouse, runtime.job);
      const names = tables.map((table) => `${table.dataset}.${table.table}`);
      if (values.json) printJson(io, { tables: names });
      else io.stdout(`Ready on ${describeWarehouse(runtime.spec)}: ${names.join(', ')}\n`);
      return 0;
    });
  },
};
