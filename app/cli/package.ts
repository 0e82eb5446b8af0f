import type { Command } from 'commander';
import type { CliDeps } from './deps.js';

/** `exhibit package`: a certified package of a case or of chosen captures. */
export function register(program: Command, { action, config }: CliDeps): void {
  program
    .command('package')
    .description('build a certified package (BagIt zip with signatures, timestamps, custody log and certificate) of a case')
    .argument('<caseId>', 'case id')
    .option('-o, --out <file>', 'zip to write (never overwritten)', undefined)
    .option('--capture <captureId...>', 'only these captures (default: the whole case)')
    .option('--operator <id>', 'who builds the package (recorded in the custody log; default: your user name)')
    .option('--case-wacz', "also carry one WACZ of every packaged capture's WARC (data/case.wacz), to replay the whole case")
    .option('--graph', 'include the case graph as a derived analysis product (data/analysis/: JSON, GraphML, SVG figure), built from the packaged captures; verify checks every capture it names is in the package')
    .option('--json', 'print the result as JSON')
    .action(
      action(async (caseId: string, opts: { out?: string; capture?: string[]; operator?: string; json?: boolean; caseWacz?: boolean; graph?: boolean }) => {
        const { packageCommand } = await import('../commands/package.js');
        return packageCommand(config(), caseId, { captureIds: opts.capture, out: opts.out, operator: opts.operator, json: Boolean(opts.json), caseWacz: Boolean(opts.caseWacz), graph: Boolean(opts.graph) });
      }),
    );
}
