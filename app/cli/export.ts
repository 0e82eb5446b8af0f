import { userInfo } from 'node:os';
import { type Command, Option } from 'commander';
import type { CliDeps } from './deps.js';

/** `exhibit export`: a case's sealed captures as a CSV or XLSX sheet. */
export function register(program: Command, { action, config }: CliDeps): void {
  program
    .command('export')
    .description("a case's sealed captures as a spreadsheet: author, text excerpt, published and capture time, visibility, URL, digests, capture ids, packages (cells that would start a formula are written as text)")
    .argument('<caseId>', 'case id')
    .addOption(new Option('--format <format>', 'spreadsheet format').choices(['csv', 'xlsx']).default('csv'))
    .option('-o, --out <file>', 'file to write (never overwritten); CSV goes to stdout without it, XLSX needs it')
    .option('--operator <id>', 'who exports (named in the XLSX; default: your user name)')
    .action(
      action(async (caseId: string, opts: { format: 'csv' | 'xlsx'; out?: string; operator?: string }) => {
        const { exportCommand } = await import('../commands/export.js');
        return exportCommand(config(), caseId, { format: opts.format, ...(opts.out ? { out: opts.out } : {}), operator: opts.operator ?? userInfo().username });
      }),
    );
}
