import type { Command } from 'commander';
import type { CliDeps } from './deps.js';

/** `exhibit verify`: a package, offline, against pinned anchors. */
export function register(program: Command, { action, config }: CliDeps): void {
  program
    .command('verify')
    .description('verify a package (zip or unzipped directory) offline: digests, signatures, timestamps, custody log, package seal; VERIFIED only when its signer and TSA are pinned')
    .argument('<package>', 'package zip or directory')
    .option('--tsa-ca <file...>', 'pin a TSA root certificate (PEM or DER) you obtained independently; the CA inside the package is never trusted')
    .option('--signing-key <key...>', 'pin an Ed25519 signing key: sha256:<hex> fingerprint or public key PEM file, obtained independently')
    .option('--no-trust-store', 'ignore the local trust store and this deployment\'s own keys and TSA CAs: only the flags pin')
    .option('--json', 'print the full report as JSON')
    .action(
      action(async (source: string, opts: { tsaCa?: string[]; signingKey?: string[]; trustStore: boolean; json?: boolean }) => {
        const { verifyAndReport } = await import('../commands/verify.js');
        return verifyAndReport(source, { json: Boolean(opts.json), trustAnchorFiles: opts.tsaCa, signingKeys: opts.signingKey, ...(opts.trustStore ? { local: config() } : {}) });
      }),
    );
}
