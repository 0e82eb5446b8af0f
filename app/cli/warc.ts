import type { Command } from 'commander';
import type { CliDeps } from './deps.js';

/** `exhibit warc check`: WARC and WACZ files from any tool. */
export function register(program: Command, { action }: CliDeps): void {
  const warc = program.command('warc').description('WARC and WACZ files from any tool');
  warc
    .command('check')
    .description('check every record of a WARC (plain or gzip per record) or WACZ: structure, block and payload digests, WARC-IP-Address, request/response pairs, CDXJ index; exit 0 clean, 8 a check fails, 4 not a WARC or WACZ')
    .argument('<file>', 'file.warc, file.warc.gz or file.wacz')
    .option('--json', 'print every finding as JSON')
    .action(
      action(async (file: string, opts: { json?: boolean }) => {
        const { warcCheckCommand } = await import('../commands/warc.js');
        return warcCheckCommand(file, { json: Boolean(opts.json) });
      }),
    );
}
