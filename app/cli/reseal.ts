import type { Command } from 'commander';
import type { CliDeps } from './deps.js';

/** `exhibit reseal`: seal again captures whose seal failed. */
export function register(program: Command, { action, config }: CliDeps): void {
  program
    .command('reseal')
    .description('seal again captures whose seal failed (e.g. the store was down past queue.retryBudgetMs), from what was captured')
    .argument('<captureIds...>', 'capture ids')
    .option('--wait', 'run a seal worker in this process and wait for the seals')
    .option('--json', 'print as JSON')
    .action(
      action(async (ids: string[], opts: { wait?: boolean; json?: boolean }) => {
        const { resealCommand } = await import('../commands/reseal.js');
        return resealCommand(config(), ids, { wait: Boolean(opts.wait), json: Boolean(opts.json) });
      }),
    );
}
