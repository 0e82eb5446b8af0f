/**
 * One WACZ for the whole case (`data/case.wacz`, option `caseWacz`): every packaged capture's WARC
 * under `archive/<captureId>-<name>`, byte-identical to the sealed artifact (each checked against
 * its manifest digest on the way in), one page per capture, signed with the WACZ key and timestamped
 * like a capture's WACZ. It is listed in the content manifest and covered by the package seal.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { isoUtc } from '../../lib/clock.js';
import type { Digests } from '../hash.js';
import { hashFile } from '../hash-file.js';
import { buildWacz, tsaTimestamper } from '../wacz.js';
import { loadWaczKey } from '../wacz-key.js';
import type { BuildState } from './build-types.js';
import type { CaptureBundle } from './captures.js';
import { bagPaths } from './layout.js';
import type { PayloadEntry } from './payload-zip.js';

export interface CaseWacz {
  entry: PayloadEntry;
  digests: Digests;
  /** Temporary directory holding the WACZ until the zip is written; the caller removes it. */
  dir: string;
}

/** Build the case WACZ from the captures' sealed WARCs; null when no capture has one. */
export async function buildCaseWacz(b: BuildState, captures: CaptureBundle[]): Promise<CaseWacz | null> {
  const sources = captures.flatMap((c) => c.manifest.artifacts.filter((a) => a.role === 'warc').map((a) => ({ c, a })));
  if (sources.length === 0) return null;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'exhibit-case-wacz-'));
  const warcs = [];
  for (const { c, a } of sources) {
    const base = path.posix.basename(a.name).toLowerCase().replace(/[^a-z0-9._-]/g, '_');
    const name = `${c.captureId.toLowerCase()}-${/\.warc(\.gz)?$/.test(base) ? base : `${base}.warc`}`;
    const file = path.join(dir, name);
    await pipeline(await b.store.get(a.storeKey), createWriteStream(file, { flags: 'wx' }));
    warcs.push({ path: file, name, sha256: a.sha256 });
  }
  const outPath = path.join(dir, 'case.wacz');
  const { headSigning } = b.opts;
  await buildWacz({
    warcs,
    outPath,
    pages: captures.map((c) => ({ url: c.manifest.page.finalUrl ?? c.manifest.page.requestedUrl, title: c.manifest.page.title, fallbackTs: c.manifest.environment.startedAt })),
    title: `Case ${b.caseId}`,
    description: `The web archives of ${captures.length} capture(s) of case ${b.caseId}, as sealed: each WARC under archive/ is named after its capture and is byte-identical to that capture's sealed WARC artifact.`,
    created: isoUtc(b.clock.now()),
    software: `Exhibit ${b.opts.exhibitVersion ?? 'unknown'}`,
    signingKey: await loadWaczKey(b.opts.keys.dir),
    timestamp: tsaTimestamper(headSigning.tsas, { ...headSigning.timestamp, clock: b.clock, ...(b.log ? { logger: b.log } : {}) }),
  });
  const digests = await hashFile(outPath);
  const entry: PayloadEntry = { path: bagPaths.caseWacz, size: digests.size, open: () => createReadStream(outPath), expect: { sha256: digests.sha256, sha512: digests.sha512, size: digests.size }, compress: false };
  return { entry, digests, dir };
}
