import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { ExhibitError } from '../../lib/errors.js';
import type { CliDeps } from './deps.js';

/** First line of a secret file, so secrets need not appear on the command line. */
async function readSecretFile(file: string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).split(/\r?\n/)[0]!.trim();
  } catch (cause) {
    throw new ExhibitError('permanent', 'INVALID_INPUT', `cannot read secret file ${file}: ${(cause as Error).message}`, { cause });
  }
}

/** `exhibit watch add|list|pause|resume|remove|run|events`: watchlists. */
export function register(program: Command, { action, config }: CliDeps): void {
  const watch = program.command('watch').description('watchlists: re-capture a channel, account, page or post on a schedule; new, edited and deleted posts are captured (runs happen in `exhibit worker`)');
  watch
    .command('add')
    .description('watch a URL: capture it into the case every interval and capture what changed')
    .argument('<url>', 'channel, account, page or post URL')
    .requiredOption('--case <caseId>', 'case the captures go into')
    .requiredOption('--every <interval>', 'interval: a whole number and m, h or d (1m to 7d), e.g. 15m')
    .requiredOption('--operator <id>', 'the person on whose authority the watch captures (recorded on every capture and run)')
    .option('--legal-basis <text>', 'legal basis, carried into every capture')
    .option('--webhook <url>', 'POST each finding here, signed (X-Exhibit-Signature: sha256=HMAC-SHA256(secret, body))')
    .option('--webhook-secret <secret>', 'HMAC secret for --webhook (at least 16 characters; kept only in Redis; visible in the process list — prefer --webhook-secret-file)')
    .option('--webhook-secret-file <path>', 'read the HMAC secret for --webhook from this file (first line)')
    .option('--allow-private-network', 'allow private and loopback targets (local test sites only)')
    .option('--run-now', 'also queue a first run now instead of waiting for the first slot')
    .option('--json', 'print as JSON')
    .action(
      action(async (url: string, opts: { case: string; every: string; operator: string; legalBasis?: string; webhook?: string; webhookSecret?: string; webhookSecretFile?: string; allowPrivateNetwork?: boolean; runNow?: boolean; json?: boolean }) => {
        const { watchCommand } = await import('../commands/watch.js');
        return watchCommand(config(), 'add', { add: { url, caseId: opts.case, every: opts.every, operator: opts.operator, legalBasis: opts.legalBasis, webhook: opts.webhook, webhookSecret: opts.webhookSecretFile !== undefined ? await readSecretFile(opts.webhookSecretFile) : opts.webhookSecret, allowPrivateNetwork: Boolean(opts.allowPrivateNetwork), runNow: Boolean(opts.runNow), json: Boolean(opts.json) } });
      }),
    );
  watch
    .command('list')
    .description('watches with state, interval (and back-off), last and next run')
    .option('--json', 'print as JSON')
    .action(
      action(async (opts: { json?: boolean }) => {
        const { watchCommand } = await import('../commands/watch.js');
        return watchCommand(config(), 'list', { json: Boolean(opts.json) });
      }),
    );
  for (const [name, description] of [
    ['pause', 'stop scheduling a watch (its runs and captures stay)'],
    ['resume', 'schedule a paused watch again'],
    ['remove', 'delete a watch, its schedule and snapshot (its captures and custody events stay)'],
    ['run', 'queue a run of a watch now'],
    ['events', 'runs of a watch, newest first, with their findings'],
  ] as const) {
    watch
      .command(name)
      .description(description)
      .argument('<id>', 'watch id')
      .option('--json', 'print as JSON')
      .action(
        action(async (id: string, opts: { json?: boolean }) => {
          const { watchCommand } = await import('../commands/watch.js');
          return watchCommand(config(), name, { id, json: Boolean(opts.json) });
        }),
      );
  }
}
