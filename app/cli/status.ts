import type { Command } from 'commander';
import type { CliDeps } from './deps.js';

/** `exhibit status`: state and progress of captures. */
export function register(program: Command, { action, config }: CliDeps): void {
  program
    .command('status')
    .description('state and progress of captures')
    .argument('<captureIds...>', 'capture ids')
    .option('--json', 'print as JSON')
    .action(
      action(async (ids: string[], opts: { json?: boolean }) => {
        const { statusCommand } = await import('../commands/status.js');
        return statusCommand(config(), ids, Boolean(opts.json));
      }),
    );
}
