import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { isoUtc } from '../../lib/clock.js';
import { PermanentError } from '../../lib/errors.js';
import type { Config } from '../../schemas/config.js';
import type { IntelFormat } from '../../schemas/intel.js';
import type { Tlp } from '../../schemas/share.js';
import { sha256Digest } from '../../evidence/canonical.js';
import { intelBytes, mispEvent, readIntelCaptures, stixBundle } from '../../analysis/intel-export.js';
import { exportRows, rowsToCsv, rowsToXlsx } from '../../analysis/case-export.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { cliOperator, err, withServices } from './common.js';
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

/**
 * `exhibit export <case> --format stix|misp [--capture ID …] [--tlp amber] [-o file]`: the
 * intelligence copy (analysis/intel-export.ts). A read of evidence leaving the system: recorded on
 * the case's custody log (`exported`, with the file's digest and the captures it names) before the
 * bytes are written.
 */
export async function intelExportCommand(config: Config, caseId: string, opts: { format: IntelFormat; tlp: Tlp; captureIds?: string[]; out?: string; operator: string }): Promise<ExitCode> {
  if (opts.out) usableOutputPath(opts.out);
  return withServices(config, async (s) => {
    const captures = await readIntelCaptures(s.store, caseId, opts.captureIds);
    const exportOpts = { caseId, tlp: opts.tlp, exportedAt: isoUtc(s.clock.now()) };
    const bytes = intelBytes(opts.format === 'stix' ? stixBundle(captures, exportOpts) : mispEvent(captures, exportOpts).event);
    const op = cliOperator(opts.operator);
    await s.custody.append({
      caseId,
      actor: { type: 'operator', id: op.name, role: 'analyst', osUser: op.osUser, host: op.host },
      action: 'exported',
      subject: { digests: [sha256Digest(bytes)] },
      details: { via: 'cli', view: 'intelligence-export', format: opts.format, tlp: opts.tlp, captureIds: captures.map((c) => c.captureId), size: bytes.length, ...(opts.out ? { file: basename(opts.out) } : {}) },
    });
    if (opts.out) {
      writeFileSync(opts.out, bytes, { flag: 'wx' });
      err(`${captures.length} captures of case ${caseId} written to ${opts.out} (${opts.format === 'stix' ? 'STIX 2.1 bundle' : 'MISP event'}, TLP:${opts.tlp.toUpperCase()}); recorded on the custody log`);
    } else process.stdout.write(bytes);
    return EXIT.OK;
  });
}
