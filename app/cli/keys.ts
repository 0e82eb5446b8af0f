import { Argument, type Command } from 'commander';
import type { CliDeps } from './deps.js';

/** `exhibit keys`: list or rotate the signing keys. */
export function register(program: Command, { action, config }: CliDeps): void {
  program
    .command('keys')
    .description('list the Ed25519 signing keys, or rotate to a new one (old signatures keep verifying)')
    .addArgument(new Argument('[action]', 'list or rotate').choices(['list', 'rotate']).default('list'))
    .option('--json', 'print as JSON')
    .action(
      action(async (what: string, opts: { json?: boolean }) => {
        const { keysCommand } = await import('../commands/keys.js');
        return keysCommand(config(), what, Boolean(opts.json));
      }),
    );
}
