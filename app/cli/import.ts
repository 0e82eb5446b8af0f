import type { Command } from 'commander';
import type { CliDeps } from './deps.js';

/** `exhibit import`: a partner's package into a local case, verified against the partner's pins. */
export function register(program: Command, { action, config }: CliDeps): void {
  program
    .command('import')
    .description('take in a package from a partner agency: verified against its pinned keys and TSAs (refused, naming why, otherwise), kept byte-identical, a custody event on the local case')
    .argument('<package>', 'package zip')
    .requiredOption('--case <caseId>', 'the local case the captures join')
    .requiredOption('--from <partner>', 'the partner agency it came from (exhibit partners add)')
    .option('--operator <id>', 'who imports (recorded in the custody log; default: your user name)')
    .option('--json', 'print the result as JSON')
    .action(
      action(async (zip: string, opts: { case: string; from: string; operator?: string; json?: boolean }) => {
        const { importCommand } = await import('../commands/import.js');
        return importCommand(config(), zip, { caseId: opts.case, from: opts.from, operator: opts.operator, json: Boolean(opts.json) });
      }),
    );
}
