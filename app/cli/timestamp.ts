import type { Command } from 'commander';
import type { CliDeps } from './deps.js';

/** `exhibit timestamp verify`: any RFC 3161 token against any file. */
export function register(program: Command, { action }: CliDeps): void {
  const timestamp = program.command('timestamp').description('RFC 3161 timestamp tokens from any authority');
  timestamp
    .command('verify')
    .description('check any timestamp token (TimeStampResp or bare TimeStampToken) against any file, offline; exit 0 verified, 10 consistent but no anchor pinned, 8 fails')
    .argument('<file>', 'the timestamped file')
    .argument('<token>', 'the token (.tsr or DER TimeStampToken)')
    .option('--tsa-ca <file...>', "trust anchors (PEM or DER) the TSA's certificate must chain to; without one the TSA is not authenticated")
    .option('--untrusted <file...>', 'intermediate or TSA certificates (PEM or DER) for tokens that do not carry them')
    .option('--json', 'print the result as JSON')
    .action(
      action(async (file: string, token: string, opts: { tsaCa?: string[]; untrusted?: string[]; json?: boolean }) => {
        const { timestampVerifyCommand } = await import('../commands/timestamp.js');
        return timestampVerifyCommand(file, token, { tsaCa: opts.tsaCa, untrusted: opts.untrusted, json: Boolean(opts.json) });
      }),
    );
}
