import type { Command } from 'commander';
import type { CliDeps } from './deps.js';

/** `exhibit down`: stop the embedded Redis of this state directory. */
export function register(program: Command, { action, config }: CliDeps): void {
  program
    .command('down')
    .description('stop the embedded Redis of this state directory')
    .action(
      action(async () => {
        const { downCommand } = await import('../commands/worker.js');
        return downCommand(config());
      }),
    );
}
