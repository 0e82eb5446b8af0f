import type { Command } from 'commander';
import type { CliDeps } from './deps.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** `exhibit partners add|list|remove`: partner agencies and the pins their packages must verify against. */
export function register(program: Command, { action, config }: CliDeps): void {
  const partners = program.command('partners').description('partner agencies: per partner, the signing keys and TSA roots its shared packages must verify against');
  partners
    .command('add')
    .description('pin a partner agency (or add a key or TSA root to one): confirm the fingerprints with the partner out of band first')
    .argument('<name>', 'the partner, e.g. agency-b (letters, digits, . _ -)')
    .requiredOption('--signing-key <key>', 'sha256:<hex> fingerprint or Ed25519 public key PEM file (repeatable)', collect)
    .option('--tsa-ca <file>', "the partner's TSA root certificate, PEM or DER (repeatable)", collect)
    .option('--json', 'print as JSON')
    .action(
      action(async (name: string, opts: { signingKey: string[]; tsaCa?: string[]; json?: boolean }) => {
        const { partnersCommand } = await import('../commands/partners.js');
        return partnersCommand(config(), { action: 'add', name, signingKeys: opts.signingKey, tsaCas: opts.tsaCa ?? [], json: Boolean(opts.json) });
      }),
    );
  partners
    .command('list')
    .description('list the partner agencies and their pins')
    .option('--json', 'print as JSON')
    .action(
      action(async (opts: { json?: boolean }) => {
        const { partnersCommand } = await import('../commands/partners.js');
        return partnersCommand(config(), { action: 'list', json: Boolean(opts.json) });
      }),
    );
  partners
    .command('remove')
    .description('remove a partner agency and its pins')
    .argument('<name>', 'the partner')
    .action(
      action(async (name: string) => {
        const { partnersCommand } = await import('../commands/partners.js');
        return partnersCommand(config(), { action: 'remove', name, json: false });
      }),
    );
}
