import type { Command } from 'commander';
import type { CliDeps } from './deps.js';

/** `exhibit accounts import|list|remove`: collection accounts. */
export function register(program: Command, { action, config }: CliDeps): void {
  const accounts = program.command('accounts').description('collection accounts: browser storage states per platform account, encrypted at rest (EXHIBIT_ACCOUNTS_KEY)');
  accounts
    .command('import')
    .description('import a Playwright storage state (cookies + localStorage JSON) for a collection account; replaces an earlier import')
    .argument('<platform>', 'collector id of the platform, e.g. mastodon, x, instagram')
    .argument('<label>', 'name of the account, used with `capture --account <label>`')
    .requiredOption('--storage-state <file>', 'JSON written by Playwright `context.storageState()`')
    .option('--handle <@name>', "the account's handle on the platform (recorded in manifests)")
    .option('--json', 'print as JSON')
    .action(
      action(async (platform: string, label: string, opts: { storageState: string; handle?: string; json?: boolean }) => {
        const { accountsCommand } = await import('../commands/accounts.js');
        return accountsCommand(config(), 'import', { platform, label, storageState: opts.storageState, handle: opts.handle, json: Boolean(opts.json) });
      }),
    );
  accounts
    .command('list')
    .description('list collection accounts: label, platform, handle, import time (never cookies)')
    .option('--json', 'print as JSON')
    .action(
      action(async (opts: { json?: boolean }) => {
        const { accountsCommand } = await import('../commands/accounts.js');
        return accountsCommand(config(), 'list', { json: Boolean(opts.json) });
      }),
    );
  accounts
    .command('remove')
    .description('delete a collection account')
    .argument('<platform>', 'platform')
    .argument('<label>', 'label')
    .action(
      action(async (platform: string, label: string) => {
        const { accountsCommand } = await import('../commands/accounts.js');
        return accountsCommand(config(), 'remove', { platform, label });
      }),
    );
}
