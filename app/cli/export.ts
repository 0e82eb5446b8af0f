import { userInfo } from 'node:os';
import { type Command, Option } from 'commander';
import { PermanentError } from '../../lib/errors.js';
import type { CliDeps } from './deps.js';

/** `exhibit export`: a case's sealed captures as a spreadsheet (CSV, XLSX) or an intelligence export (STIX 2.1, MISP). */
export function register(program: Command, { action, config }: CliDeps): void {
  program
    .command('export')
    .description("a case's sealed captures as a spreadsheet (author, text excerpt, published and capture time, visibility, URL, digests, capture ids, packages; cells that would start a formula are written as text) or as intelligence (STIX 2.1 bundle, MISP event: each object names its capture id and manifest digest); recorded on the custody log")
    .argument('<caseId>', 'case id')
    .addOption(new Option('--format <format>', 'csv or xlsx (spreadsheet), stix or misp (intelligence)').choices(['csv', 'xlsx', 'stix', 'misp']).default('csv'))
    .option('--capture <captureId...>', 'stix, misp: only these captures (default: the whole case)')
    .option('--tlp <level>', 'stix, misp: TLP 2.0 marking: clear, green, amber, amber+strict, red', 'amber')
    .option('-o, --out <file>', 'file to write (never overwritten); default stdout (XLSX needs a file)')
    .option('--operator <id>', 'who exports (default: your user name)')
    .action(
      action(async (caseId: string, opts: { format: 'csv' | 'xlsx' | 'stix' | 'misp'; capture?: string[]; tlp?: string; out?: string; operator?: string }) => {
        if (opts.format === 'stix' || opts.format === 'misp') {
          const { intelExportCommand } = await import('../commands/intel-export.js');
          return intelExportCommand(config(), caseId, { format: opts.format, captureIds: opts.capture, tlp: opts.tlp, out: opts.out, operator: opts.operator });
        }
        if (opts.capture?.length) throw new PermanentError('INVALID_INPUT', '--capture selects captures for stix and misp; a spreadsheet lists the whole case');
        const { exportCommand } = await import('../commands/export.js');
        return exportCommand(config(), caseId, { format: opts.format, ...(opts.out ? { out: opts.out } : {}), operator: opts.operator ?? userInfo().username });
      }),
    );
}
