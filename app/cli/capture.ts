import type { Command } from 'commander';
import { ExhibitError } from '../../lib/errors.js';
import { readSheetFile, readUrlList } from '../../lib/url-list.js';
import { MAX_INTAKE_BYTES } from '../../schemas/spreadsheet.js';
import type { CliDeps } from './deps.js';

/** `exhibit capture`: URLs (arguments or a list file) into a case, followed until sealed. */
export function register(program: Command, { action, config }: CliDeps): void {
  program
    .command('capture')
    .description('capture one or more URLs into a case; shows progress until each capture is sealed')
    .argument('[urls...]', 'URLs to capture')
    .option('-f, --file <path>', 'read URLs from a file, one per line ("-" for stdin)')
    .option('--csv <path>', 'read URLs from a CSV sheet (or tab-separated cells pasted from a spreadsheet; "-" for stdin) with a url column and optional legal basis, tags and note columns; every row is reported accepted or rejected')
    .requiredOption('--case <caseId>', 'case the captures belong to, e.g. C-2026-001')
    .requiredOption('--operator <id>', 'who is capturing (recorded in every manifest and custody event)')
    .option('--legal-basis <text>', 'legal basis for the capture (warrant, statute), carried into the manifest and package')
    .option('--allow-private-network', 'allow private, loopback and link-local targets (local test sites only)')
    .option('--force', 'capture again even if this URL was already captured into this case')
    .option('--timeout <ms>', 'time limit for one page capture, in ms', (v) => Number.parseInt(v, 10))
    .option('--account <label>', "capture logged in as this collection account of the URL's platform (see `exhibit accounts`)")
    .option('--with-profile', "also capture the post author's profile page (a linked capture into the same case)")
    .option('--wait', 'run the capture and seal workers in this process (no separate `exhibit worker` needed)')
    .option('--no-follow', 'enqueue and return at once, without waiting for the captures')
    .option('--json', 'print results as JSON')
    .action(
      action(async (urls: string[], opts: Record<string, unknown>) => {
        const { captureCommand, captureSheetCommand } = await import('../commands/capture.js');
        const common = {
          caseId: String(opts.case),
          operator: String(opts.operator),
          legalBasis: opts.legalBasis === undefined ? undefined : String(opts.legalBasis),
          allowPrivateNetwork: Boolean(opts.allowPrivateNetwork),
          force: Boolean(opts.force),
          timeoutMs: typeof opts.timeout === 'number' && Number.isFinite(opts.timeout) ? opts.timeout : undefined,
          account: opts.account === undefined ? undefined : String(opts.account),
          withProfile: Boolean(opts.withProfile),
          wait: Boolean(opts.wait),
          follow: opts.follow !== false,
          json: Boolean(opts.json),
        };
        if (opts.csv !== undefined) {
          if (urls.length || opts.file) throw new ExhibitError('permanent', 'INVALID_INPUT', '--csv takes the URLs from the sheet: give no URLs or --file with it');
          return captureSheetCommand(config(), await readSheetFile(String(opts.csv), MAX_INTAKE_BYTES), common);
        }
        const list = [...urls, ...(opts.file ? await readUrlList(String(opts.file)) : [])];
        if (list.length === 0) throw new ExhibitError('permanent', 'INVALID_INPUT', 'no URLs given: pass URLs as arguments, --file or --csv');
        return captureCommand(config(), list, common);
      }),
    );
}
