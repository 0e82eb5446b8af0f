import type { Command } from 'commander';
import type { CliDeps } from './deps.js';

/** `exhibit demo`: the bundled sample post end to end. */
export function register(program: Command, { action, globals }: CliDeps): void {
  program
    .command('demo')
    .description('capture the bundled sample post end to end on the embedded default, package and verify it')
    .action(
      action(async () => {
        const { demoCommand } = await import('../commands/demo.js');
        return demoCommand(globals());
      }),
    );
}
