import type { Command } from 'commander';
import type { CliDeps } from './deps.js';

/** `exhibit trust add|list|remove`: the local trust store. */
export function register(program: Command, { action, config }: CliDeps): void {
  const trust = program.command('trust').description('the local trust store: signing keys and TSA roots pinned for verifying packages from elsewhere');
  trust
    .command('add')
    .description('pin a signing key and/or a TSA root (confirm the fingerprint with its owner out of band first)')
    .option('--signing-key <key>', 'sha256:<hex> fingerprint or Ed25519 public key PEM file')
    .option('--tsa-ca <file>', 'TSA root certificate, PEM or DER')
    .option('--name <name>', 'a label, e.g. the agency it belongs to')
    .option('--json', 'print as JSON')
    .action(
      action(async (opts: { signingKey?: string; tsaCa?: string; name?: string; json?: boolean }) => {
        const { trustCommand } = await import('../commands/trust.js');
        return trustCommand(config(), { action: 'add', signingKey: opts.signingKey, tsaCa: opts.tsaCa, name: opts.name, json: Boolean(opts.json) });
      }),
    );
  trust
    .command('list')
    .description('list the pinned signing keys and TSA roots')
    .option('--json', 'print as JSON')
    .action(
      action(async (opts: { json?: boolean }) => {
        const { trustCommand } = await import('../commands/trust.js');
        return trustCommand(config(), { action: 'list', json: Boolean(opts.json) });
      }),
    );
  trust
    .command('remove')
    .description('unpin a signing key or TSA root by its fingerprint')
    .argument('<fingerprint>', 'sha256:<hex>')
    .action(
      action(async (fingerprint: string) => {
        const { trustCommand } = await import('../commands/trust.js');
        return trustCommand(config(), { action: 'remove', fingerprint, json: false });
      }),
    );
}
