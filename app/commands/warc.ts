import { open } from 'node:fs/promises';
import { checkWacz, isZip } from '../../evidence/wacz-check.js';
import { checkWarc, type WarcCheckResult, type WarcFinding } from '../../evidence/warc-check.js';
import { PermanentError } from '../../lib/errors.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { err, out } from './common.js';

export interface WarcCheckCommandOptions {
  json: boolean;
}

async function firstBytes(file: string): Promise<Buffer> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new PermanentError(code === 'ENOENT' ? 'NOT_FOUND' : 'INVALID_INPUT', `cannot read ${file}: ${(cause as Error).message}`, { cause });
  }
  try {
    if (!(await fh.stat()).isFile()) throw new PermanentError('INVALID_INPUT', `${file} is not a file`);
    const buf = Buffer.alloc(4);
    const { bytesRead } = await fh.read(buf, 0, 4, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

function describe(f: WarcFinding): string {
  const where = f.offset === null ? f.file : `${f.file} @${f.offset} ${f.recordType ?? '?'}${f.targetUri ? ` ${f.targetUri}` : ''}`;
  return `${f.severity.toUpperCase().padEnd(7)} [${f.check}] ${where}: ${f.message}`;
}

/**
 * `exhibit warc check <file>`: every record of a WARC (plain or gzip per record) or of every WARC in
 * a WACZ, with the WACZ's CDXJ index. Exit 0 clean (warnings and notes allowed), 8 when a check
 * fails, 4 when the input is no WARC or WACZ at all.
 */
export async function warcCheckCommand(file: string, opts: WarcCheckCommandOptions): Promise<ExitCode> {
  const head = await firstBytes(file);
  let result: WarcCheckResult;
  if (isZip(head)) {
    try {
      result = await checkWacz(file);
    } catch (cause) {
      throw new PermanentError('INVALID_INPUT', `${file} is not a readable WACZ (zip): ${(cause as Error).message}`, { cause });
    }
  } else {
    result = await checkWarc(file);
  }
  // Nothing recognisable as WARC at all: unreadable input, not a failed check.
  if (result.records === 0) {
    const why = result.findings.map((f) => f.message).join('; ');
    if (opts.json) out(JSON.stringify({ result: 'unreadable', file, ...result }, null, 2));
    err(`exhibit: ${file} is not a WARC or WACZ: ${why}`);
    return EXIT.INVALID_INPUT;
  }
  const counts = { error: 0, warning: 0, note: 0 };
  for (const f of result.findings) counts[f.severity]++;
  if (opts.json) {
    out(JSON.stringify({ result: result.ok ? 'passed' : 'failed', file, ...result, counts }, null, 2));
  } else {
    for (const f of result.findings) out(describe(f));
    out(`${file}: ${result.records} records; ${counts.error} errors, ${counts.warning} warnings, ${counts.note} notes (${result.origin.exhibit ? "Exhibit's rules" : 'rules for WARCs from any tool'}: ${result.origin.reason})`);
    out(result.ok ? 'PASSED: every record reads, and every digest present matches' : 'FAILED: see the errors above');
  }
  return result.ok ? EXIT.OK : EXIT.INTEGRITY;
}
