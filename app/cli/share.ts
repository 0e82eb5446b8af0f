import type { Command } from 'commander';
import type { CliDeps } from './deps.js';

/** `exhibit share`: a package for a partner agency (withheld artifacts, signed share record). */
export function register(program: Command, { action, config }: CliDeps): void {
  program
    .command('share')
    .description('build a package for a partner agency: chosen captures, artifacts withheld, a signed share record (legal basis, TLP, expiry); a custody event on this case')
    .argument('<caseId>', 'case id')
    .requiredOption('--to <partner>', 'the partner agency (exhibit partners add)')
    .requiredOption('--legal-basis <text>', 'the MLA request, treaty or agreement the transfer rests on')
    .option('--capture <captureId...>', 'only these captures (default: the whole case)')
    .option('--withhold <roleOrPath...>', 'artifacts to withhold: a role (screenshot, warc, …), an artifact name or a bag path; derivatives of a withheld original go with it')
    .option('--tlp <level>', 'TLP 2.0 marking: clear, green, amber, amber+strict, red', 'amber')
    .option('--expires <date>', 'last day (YYYY-MM-DD) the partner may use the material under this share')
    .option('-o, --out <file>', 'zip to write (never overwritten)')
    .option('--operator <id>', 'who shares (recorded in the custody log; default: your user name)')
    .option('--json', 'print the result as JSON')
    .action(
      action(async (caseId: string, opts: { to: string; legalBasis: string; capture?: string[]; withhold?: string[]; tlp?: string; expires?: string; out?: string; operator?: string; json?: boolean }) => {
        const { shareCommand } = await import('../commands/share.js');
        return shareCommand(config(), caseId, { to: opts.to, legalBasis: opts.legalBasis, captureIds: opts.capture, withhold: opts.withhold, tlp: opts.tlp, expires: opts.expires, out: opts.out, operator: opts.operator, json: Boolean(opts.json) });
      }),
    );
}
