/** `kpis time-zone`: the business day's zone. */
import { printJson, type Command } from '../command';
import { cliSettings, loadCliJob } from '../context';

export const timeZoneCommand: Command = {
  summary: "print the business day's time zone of the ETL config (deploy.sh schedules in it)",
  usage: 'kpis time-zone [--config FILE]',
  details:
    'Prints the IANA name the config\'s time_zone gives (UTC when it gives none): KPI days are calendar days there. With --json: {"time_zone": NAME}.',
  options: {},
  run(values, _positionals, io) {
    const timeZone = loadCliJob(cliSettings(values, io)).timeZone;
    if (values.json) printJson(io, { time_zone: timeZone });
    else io.stdout(`${timeZone}\n`);
    return Promise.resolve(0);
  },
};
