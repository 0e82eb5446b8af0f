import { Option, type Command } from 'commander';
import type { CliDeps } from './deps.js';

/** `exhibit list`, `exhibit cases` and `exhibit show`: what a case holds, read from the store. */
export function register(program: Command, { action, config }: CliDeps): void {
  program
    .command('list')
    .description('sealed captures of a case: author, text, published and capture time, what the platform showed')
    .requiredOption('--case <caseId>', 'case id')
    .option('--platform <id>', 'only this platform (collector id, e.g. telegram, mastodon; web for plain pages)')
    .option('--author <name>', 'only posts whose author handle or display name contains this')
    .option('--status <status>', 'only sealed, unsealed, failed (page not captured) or a visibility state (visible, login-wall, deleted, not-recognised, …)')
    .option('--since <time>', 'captured at or after this ISO-8601 time or date')
    .option('--until <time>', 'captured before this ISO-8601 time or date')
    .addOption(new Option('--sort <key>', 'order').choices(['captured', 'published', 'author', 'platform']).default('captured'))
    .option('--tag <tag>', "only captures an analyst tagged so (`exhibit tag`); case and Arabic letter variants don't matter")
    .option('--json', 'print as JSON')
    .action(
      action(async (opts: { case: string; platform?: string; author?: string; status?: string; since?: string; until?: string; sort: 'captured' | 'published' | 'author' | 'platform'; tag?: string; json?: boolean }) => {
        const { listCommand } = await import('../commands/show.js');
        return listCommand(config(), opts.case, Boolean(opts.json), { platform: opts.platform, author: opts.author, status: opts.status, since: opts.since, until: opts.until, sort: opts.sort, tag: opts.tag });
      }),
    );

  program
    .command('cases')
    .description('cases in the evidence store, with counts: captures, sealed, failed, last capture time')
    .option('--json', 'print as JSON')
    .action(
      action(async (opts: { json?: boolean }) => {
        const { casesCommand } = await import('../commands/show.js');
        return casesCommand(config(), Boolean(opts.json));
      }),
    );

  program
    .command('show')
    .description("one capture's manifest, human-readable (or --json for the exact manifest)")
    .argument('<captureId>', 'capture id')
    .option('--case <caseId>', 'case id (found automatically when omitted)')
    .option('--json', 'print the manifest JSON')
    .action(
      action(async (captureId: string, opts: { case?: string; json?: boolean }) => {
        const { showCommand } = await import('../commands/show.js');
        return showCommand(config(), captureId, opts.case, Boolean(opts.json));
      }),
    );
}
