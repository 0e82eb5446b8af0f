import type { Command } from 'commander';
import type { CliDeps } from './deps.js';

/** `exhibit doctor`: every external program and where it was found. */
export function register(program: Command, { action, config }: CliDeps): void {
  program
    .command('doctor')
    .description('every external program Exhibit and its tests run (the program list in ./exhibit): version and where it was found; exit 69 when one Exhibit needs is missing')
    .option('--json', 'print as JSON')
    .action(
      action(async (opts: { json?: boolean }) => {
        const { doctorCommand } = await import('../commands/doctor.js');
        return doctorCommand(config(), { json: Boolean(opts.json) });
      }),
    );
}
