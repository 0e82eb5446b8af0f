import { userInfo } from 'node:os';
import { type Command, Option } from 'commander';
import { TLP_LEVELS, type Tlp } from '../../schemas/share.js';
import type { CliDeps } from './deps.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** `exhibit export`: a case's sealed captures as a CSV or XLSX sheet, a STIX 2.1 bundle or a MISP event. */
export function register(program: Command, { action, config }: CliDeps): void {
  program
    .command('export')
    .description("a case's sealed captures as a spreadsheet (csv, xlsx: author, text excerpt, times, visibility, URL, digests, capture ids, packages; cells that would start a formula are written as text) or as intelligence (stix: a STIX 2.1 bundle, misp: a MISP event; each object names its capture id and manifest digest; recorded as a custody event)")
    .argument('<caseId>', 'case id')
    .addOption(new Option('--format <format>', 'export format').choices(['csv', 'xlsx', 'stix', 'misp']).default('csv'))
    .option('--capture <id>', 'stix, misp: export only this capture (repeatable; default: the whole case)', collect)
    .addOption(new Option('--tlp <level>', 'stix, misp: TLP 2.0 marking').choices([...TLP_LEVELS]).default('amber'))
    .option('-o, --out <file>', 'file to write (never overwritten); CSV, STIX and MISP go to stdout without it, XLSX needs it')
    .option('--operator <id>', 'who exports (named in the XLSX and on the custody log; default: your user name)')
    .action(
      action(async (caseId: string, opts: { format: 'csv' | 'xlsx' | 'stix' | 'misp'; capture?: string[]; tlp: Tlp; out?: string; operator?: string }) => {
        const { exportCommand, intelExportCommand } = await import('../commands/export.js');
        const common = { ...(opts.out ? { out: opts.out } : {}), operator: opts.operator ?? userInfo().username };
        if (opts.format === 'stix' || opts.format === 'misp') return intelExportCommand(config(), caseId, { format: opts.format, tlp: opts.tlp, ...(opts.capture ? { captureIds: opts.capture } : {}), ...common });
        if (opts.capture) {
          const { PermanentError } = await import('../../lib/errors.js');
          throw new PermanentError('INVALID_INPUT', '--capture applies to --format stix or misp; a spreadsheet holds the whole case');
        }
        return exportCommand(config(), caseId, { format: opts.format, ...common });
      }),
    );
}
