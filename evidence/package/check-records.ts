/**
 * Record-level checks of the web archives in a package: each WARC artifact read record by record
 * (warc-check.ts: structure, every block and payload digest present, WARC-IP-Address of responses,
 * request/response pairs), each WACZ with its WARCs, CDXJ index and data package (wacz-check.ts).
 * A failure names the archive and the record: offset, type, target URI. The artifact digest check
 * (check-captures.ts) says THAT a file changed; this says WHERE.
 */
import { createReadStream } from 'node:fs';
import type { Artifact } from '../../schemas/artifact.js';
import { checkWacz, type WaczSource } from '../wacz-check.js';
import { checkWarc, type WarcCheckResult, type WarcFinding } from '../warc-check.js';
import { errMsg, type BagContext } from './checks.js';

/** A WACZ compressed inside the package zip is read into memory up to this size (Exhibit stores them uncompressed). */
const MAX_WACZ_IN_MEMORY = 256 * 1024 * 1024;

/** The roles checked record by record. */
export const RECORD_CHECKED_ROLES: ReadonlySet<Artifact['role']> = new Set(['warc', 'wacz']);

function where(f: WarcFinding, inside: string | null): string {
  const file = inside ? `${f.file}: ` : '';
  if (f.offset === null) return file;
  return `${file}record at offset ${f.offset} (${f.recordType ?? 'unknown type'}${f.targetUri ? ` ${f.targetUri}` : ''}${f.recordId ? ` ${f.recordId}` : ''}): `;
}

function report(ctx: BagContext, item: string, role: string, r: WarcCheckResult, inWacz: boolean): void {
  const errors = r.findings.filter((f) => f.severity === 'error');
  for (const f of errors) {
    const inner = inWacz && f.file !== item ? f.file : null;
    ctx.report.fail(inner ? `${item}#${inner}` : item, `${role}-records`, `[${f.check}] ${where(f, inner)}${f.message}`);
  }
  if (errors.length === 0) {
    const warnings = r.findings.filter((f) => f.severity === 'warning').length;
    ctx.report.pass(item, `${role}-records`, `${r.records} WARC records read; every digest present matches${warnings ? `; ${warnings} warning(s), see exhibit warc check` : ''}`);
  }
}

/** Check one WARC or WACZ artifact of a capture, record by record. */
export async function checkArchiveRecords(ctx: BagContext, item: string, artifact: Pick<Artifact, 'role' | 'size'>): Promise<void> {
  const region = await ctx.region(item);
  try {
    if (artifact.role === 'warc') {
      const source = region ? () => createReadStream(region.file, { start: region.start, end: region.start + region.length - 1, highWaterMark: 64 * 1024 }) : () => ctx.stream(item);
      // An empty region would make createReadStream read to the end of the file.
      report(ctx, item, 'warc', region?.length === 0 ? await checkWarc(async function* () {}, { name: item }) : await checkWarc(source, { name: item }), false);
      return;
    }
    let source: WaczSource;
    if (region) source = { ...region, name: item };
    else if (artifact.size <= MAX_WACZ_IN_MEMORY) source = { bytes: await ctx.read(item), name: item };
    else {
      ctx.report.fail(item, 'wacz-records', `compressed inside the package and larger than ${MAX_WACZ_IN_MEMORY} bytes: not read record by record (Exhibit stores WACZ files uncompressed)`);
      return;
    }
    report(ctx, item, 'wacz', await checkWacz(source), true);
  } catch (err) {
    ctx.report.fail(item, `${artifact.role}-records`, `not readable as ${artifact.role === 'warc' ? 'a WARC' : 'a WACZ (zip)'}: ${errMsg(err)}`);
  }
}
