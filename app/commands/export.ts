import { writeFileSync } from 'node:fs';
import { isoUtc } from '../../lib/clock.js';
import { PermanentError } from '../../lib/errors.js';
import type { Config } from '../../schemas/config.js';
import { exportRows, rowsToCsv, rowsToXlsx } from '../../analysis/case-export.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { err, withServices } from './common.js';
import { usableOutputPath } from './output-path.js';

/**
 * `exhibit export <case> --format csv|xlsx [-o file]`: the case's sealed captures as a spreadsheet
 * (see analysis/case-export.ts for the columns and the formula guard). CSV goes to stdout without
 * `-o`; XLSX needs a file. Files are never overwritten.
 */
export async function exportCommand(config: Config, caseId: string, opts: { format: 'csv' | 'xlsx'; out?: string; operator: string }): Promise<ExitCode> {
  if (opts.format === 'xlsx' && !opts.out) throw new PermanentError('INVALID_INPUT', 'XLSX is binary: name a file with -o');
  if (opts.out) usableOutputPath(opts.out);
  return withServices(config, async (s) => {
    const events = (await s.custody.readLog(caseId)).map((e) => e.event);
    const rows = await exportRows(s.store, caseId, events);
    if (rows.length === 0) {
      err(`no sealed captures in case ${caseId}`);
      return EXIT.NOT_FOUND;
    }
    const bytes = opts.format === 'xlsx' ? await rowsToXlsx(rows, { caseId, exportedAt: isoUtc(s.clock.now()), exportedBy: opts.operator }) : rowsToCsv(rows);
    if (opts.out) {
      writeFileSync(opts.out, bytes, { flag: 'wx' });
      err(`${rows.length} captures of case ${caseId} written to ${opts.out} (${opts.format.toUpperCase()})`);
    } else process.stdout.write(bytes);
    return EXIT.OK;
  });
}
