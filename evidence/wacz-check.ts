import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import { verifyTimestampToken } from './timestamp-verify.js';
import { checkWarcDetailed, type WarcCheckOptions, type WarcCheckResult, type WarcFinding, type WarcRecordFacts } from './warc-check.js';
import { verifyWaczSignature, waczKeyFingerprint } from './wacz-key.js';

/**
 * A WACZ checked record by record: every WARC under `archive/` with {@link checkWarcDetailed}, and
 * every CDXJ line under `indexes/` against the records it points at (file, offset, length, URL);
 * then the package around them: every file against its `datapackage.json` entry (SHA-256, size)
 * and every entry against a file, `datapackage-digest.json` against datapackage.json, its anonymous
 * signature (WACZ Signing and Verification; the key only shows the files were not changed since it
 * signed, not who signed) and its RFC 3161 tokens (imprint = the datapackage digest; chained to a
 * pinned TSA root when the caller gives some).
 */

/** A CDXJ line longer than this is not an index entry. */
const MAX_CDXJ_LINE = 64 * 1024;
/** datapackage.json and datapackage-digest.json are read whole up to this size. */
const MAX_PACKAGE_JSON = 16 * 1024 * 1024;

/** Where a WACZ's bytes are: a file, a byte range of a file (a WACZ stored in another zip), or memory. */
export type WaczSource = string | { file: string; start: number; length: number; name: string } | { bytes: Buffer; name: string };

/** Reads a range of a file as if it were the whole file (a stored entry of an outer zip). */
class RegionReader extends yauzl.RandomAccessReader {
  constructor(private readonly file: string, private readonly base: number) {
    super();
  }
  override _readStreamForRange(start: number, end: number): Readable {
    return createReadStream(this.file, { start: this.base + start, end: this.base + end - 1 });
  }
}

function openZip(source: WaczSource): Promise<yauzl.ZipFile> {
  const o = { lazyEntries: true, autoClose: false, validateEntrySizes: true };
  if (typeof source === 'string') return yauzl.openPromise(source, o);
  if ('bytes' in source) return yauzl.fromBufferPromise(source.bytes, o);
  return yauzl.fromRandomAccessReaderPromise(new RegionReader(source.file, source.start), source.length, o);
}

async function entries(zip: yauzl.ZipFile): Promise<yauzl.Entry[]> {
  const list: yauzl.Entry[] = [];
  await new Promise<void>((resolve, reject) => {
    zip.on('entry', (e: yauzl.Entry) => {
      list.push(e);
      zip.readEntry();
    });
    zip.once('end', () => resolve());
    zip.once('error', reject);
    zip.readEntry();
  });
  return list;
}

function entryStream(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Readable> {
  return new Promise((resolve, reject) => zip.openReadStream(entry, (e, s) => (e ? reject(e) : resolve(s))));
}

/** Whether a file looks like a WACZ (a zip) rather than a WARC, by its first bytes. */
export function isZip(head: Uint8Array): boolean {
  return head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04;
}

export interface WaczCheckOptions extends Omit<WarcCheckOptions, 'name'> {
  /** PEM TSA roots: a token in datapackage-digest.json must chain to one; without any, tokens are checked but not anchored (a note says so). */
  tsaTrustAnchors?: string[];
}

export interface WaczCheckResult extends WarcCheckResult {
  warcs: string[];
  /** What datapackage-digest.json holds, when it parses. */
  digest: { hash: string | null; signedBy: string | null; timestamps: Array<{ genTime: string; anchored: boolean }> } | null;
}

/**
 * Check a WACZ. Throws only when the source is not a readable zip; everything wrong inside it is a
 * finding.
 */
export async function checkWacz(source: WaczSource, opts: WaczCheckOptions = {}): Promise<WaczCheckResult> {
  const zip = await openZip(source);
  const label = typeof source === 'string' ? source : source.name;
  const findings: WarcFinding[] = [];
  const fileFinding = (severity: WarcFinding['severity'], check: WarcFinding['check'], file: string, message: string) =>
    findings.push({ severity, check, file, offset: null, recordType: null, targetUri: null, recordId: null, message });
  let records = 0;
  const warcs: string[] = [];
  const facts = new Map<string, WarcRecordFacts[]>();
  const hashes = new Map<string, { sha256: string; size: number }>();
  let exhibit = false;
  let digest: WaczCheckResult['digest'] = null;
  try {
    const all = await entries(zip);
    const files = all.filter((e) => !e.fileName.endsWith('/'));
    for (const e of files.filter((x) => /^archive\/[^/]+\.warc(\.gz)?$/i.test(x.fileName))) {
      warcs.push(e.fileName);
      // Hashed in the same pass as the record check: the WARC is read once.
      const h = createHash('sha256');
      let size = 0;
      const r = await checkWarcDetailed(
        async function* () {
          for await (const c of await entryStream(zip, e)) {
            h.update(c as Buffer);
            size += (c as Buffer).length;
            yield c as Buffer;
          }
        },
        { ...(opts.origin ? { origin: opts.origin } : {}), name: e.fileName },
      );
      records += r.records;
      findings.push(...r.findings);
      facts.set(e.fileName.slice('archive/'.length), r.recordFacts);
      exhibit ||= r.origin.exhibit;
      // A record check that stopped early did not read the whole entry: hashed below instead.
      if (size === e.uncompressedSize) hashes.set(e.fileName, { sha256: `sha256:${h.digest('hex')}`, size });
    }
    if (warcs.length === 0) fileFinding('error', 'structure', label, 'no WARC under archive/');
    const indexes = files.filter((x) => /^indexes\/.+\.cdxj?$/i.test(x.fileName));
    for (const e of files.filter((x) => /^indexes\/.+\.(cdxj?\.gz|idx)$/i.test(x.fileName))) {
      fileFinding('warning', 'cdxj', e.fileName, 'compressed (ZipNum) index not checked; only plain CDXJ is');
    }
    for (const e of indexes) await checkCdxj(e.fileName, await entryStream(zip, e), facts, findings);
    digest = await checkDataPackage(zip, files, hashes, findings, opts);
  } finally {
    zip.close();
  }
  return { ok: !findings.some((f) => f.severity === 'error'), records, findings, origin: { exhibit, reason: exhibit ? 'a warcinfo record names Exhibit' : 'no warcinfo record names Exhibit' }, warcs, digest };
}

async function hashEntry(zip: yauzl.ZipFile, e: yauzl.Entry): Promise<{ sha256: string; size: number; bytes: Buffer | null }> {
  const h = createHash('sha256');
  let size = 0;
  const keep = e.uncompressedSize <= MAX_PACKAGE_JSON;
  const parts: Buffer[] = [];
  for await (const c of await entryStream(zip, e)) {
    h.update(c as Buffer);
    size += (c as Buffer).length;
    if (keep) parts.push(c as Buffer);
  }
  return { sha256: `sha256:${h.digest('hex')}`, size, bytes: keep ? Buffer.concat(parts) : null };
}

function parseJson(bytes: Buffer | null): unknown {
  if (!bytes) return undefined;
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** datapackage.json against the files, datapackage-digest.json against datapackage.json, its signature and tokens. */
async function checkDataPackage(zip: yauzl.ZipFile, files: yauzl.Entry[], hashes: Map<string, { sha256: string; size: number }>, findings: WarcFinding[], opts: WaczCheckOptions): Promise<WaczCheckResult['digest']> {
  const add = (severity: WarcFinding['severity'], check: WarcFinding['check'], file: string, message: string) =>
    findings.push({ severity, check, file, offset: null, recordType: null, targetUri: null, recordId: null, message });
  const byName = new Map(files.map((e) => [e.fileName, e]));
  const dpEntry = byName.get('datapackage.json');
  if (!dpEntry) {
    add('error', 'datapackage', 'datapackage.json', 'missing: nothing lists the files of this WACZ with their digests');
    return null;
  }
  const dp = await hashEntry(zip, dpEntry);
  const pkg = parseJson(dp.bytes) as { resources?: Array<{ path?: unknown; hash?: unknown; bytes?: unknown }> } | undefined;
  if (!pkg || !Array.isArray(pkg.resources)) {
    add('error', 'datapackage', 'datapackage.json', 'does not parse as a data package with resources');
  } else {
    const listed = new Set<string>();
    for (const res of pkg.resources) {
      const p = typeof res.path === 'string' ? res.path : null;
      if (!p) {
        add('error', 'datapackage', 'datapackage.json', 'a resource has no path');
        continue;
      }
      listed.add(p);
      const e = byName.get(p);
      if (!e) {
        add('error', 'datapackage', p, 'listed in datapackage.json but not in the WACZ');
        continue;
      }
      const got = hashes.get(p) ?? (await hashEntry(zip, e));
      const stated = typeof res.hash === 'string' ? res.hash : '';
      if (!stated.startsWith('sha256:')) add('warning', 'datapackage', p, `hash ${JSON.stringify(stated).slice(0, 80)} is not sha256: not checked`);
      else if (stated !== got.sha256) add('error', 'datapackage', p, `does not match datapackage.json: the file hashes to ${got.sha256}, datapackage.json says ${stated}`);
      if (typeof res.bytes === 'number' && res.bytes !== got.size) add('error', 'datapackage', p, `is ${got.size} bytes, datapackage.json says ${res.bytes}`);
    }
    for (const e of files) {
      if (e.fileName !== 'datapackage.json' && e.fileName !== 'datapackage-digest.json' && !listed.has(e.fileName)) add('error', 'datapackage', e.fileName, 'is in the WACZ but not listed in datapackage.json');
    }
  }
  const dgEntry = byName.get('datapackage-digest.json');
  if (!dgEntry) {
    add('warning', 'signature', 'datapackage-digest.json', 'missing: the WACZ carries no digest or signature of datapackage.json');
    return null;
  }
  const dg = parseJson((await hashEntry(zip, dgEntry)).bytes) as
    | { path?: unknown; hash?: unknown; signedData?: { hash?: unknown; signature?: unknown; publicKey?: unknown; domainCert?: unknown }; timestamps?: Array<{ token?: unknown; tsaUrl?: unknown }> }
    | undefined;
  if (!dg || typeof dg.hash !== 'string') {
    add('error', 'signature', 'datapackage-digest.json', 'does not parse as {path, hash, signedData}');
    return null;
  }
  const result: NonNullable<WaczCheckResult['digest']> = { hash: dg.hash, signedBy: null, timestamps: [] };
  if (dg.hash !== dp.sha256) add('error', 'signature', 'datapackage-digest.json', `states ${dg.hash} for datapackage.json, which hashes to ${dp.sha256}`);
  const sd = dg.signedData;
  if (!sd) {
    add('warning', 'signature', 'datapackage-digest.json', 'no signedData: the digest is not signed');
  } else if (sd.hash !== dg.hash) {
    add('error', 'signature', 'datapackage-digest.json', `the signature covers ${String(sd.hash)}, not the stated digest ${dg.hash}`);
  } else if (typeof sd.publicKey === 'string' && typeof sd.signature === 'string') {
    const why = verifyWaczSignature({ hash: sd.hash, signature: sd.signature, publicKey: sd.publicKey });
    if (why) add('error', 'signature', 'datapackage-digest.json', `anonymous signature: ${why}`);
    else {
      result.signedBy = waczKeyFingerprint(Buffer.from(sd.publicKey, 'base64'));
      add('note', 'signature', 'datapackage-digest.json', `signed by ECDSA key ${result.signedBy}; an anonymous signature names no one: confirm the key out of band`);
    }
  } else {
    add('warning', 'signature', 'datapackage-digest.json', 'signedData has no anonymous signature (publicKey); a domain-certificate signature is not checked here');
  }
  for (const [i, t] of (Array.isArray(dg.timestamps) ? dg.timestamps : []).entries()) {
    const item = `datapackage-digest.json#timestamps/${i}`;
    if (typeof t.token !== 'string') {
      add('error', 'timestamp', item, 'no token');
      continue;
    }
    try {
      const anchors = opts.tsaTrustAnchors ?? [];
      const facts = await verifyTimestampToken(Buffer.from(t.token, 'base64'), { digest: dg.hash, trustAnchors: anchors, allowUnanchored: anchors.length === 0 });
      result.timestamps.push({ genTime: facts.genTime, anchored: facts.anchored });
      add('note', 'timestamp', item, `RFC 3161 token over the datapackage digest, time ${facts.genTime} by ${facts.tsaName ?? facts.signerSubject}${facts.anchored ? '' : ' (no TSA root given: not chained to a pinned root)'}`);
    } catch (e) {
      add('error', 'timestamp', item, `RFC 3161 token does not hold: ${(e as Error).message}`);
    }
  }
  return result;
}

async function checkCdxj(indexName: string, stream: Readable, facts: Map<string, WarcRecordFacts[]>, findings: WarcFinding[]): Promise<void> {
  const byOffset = new Map<string, Map<number, WarcRecordFacts>>();
  for (const [name, list] of facts) byOffset.set(name, new Map(list.map((r) => [r.offset, r])));
  let lineNo = 0;
  const add = (message: string, rec: WarcRecordFacts | null = null) =>
    findings.push({ severity: 'error', check: 'cdxj', file: indexName, offset: rec?.offset ?? null, recordType: rec?.type ?? null, targetUri: rec?.targetUri ?? null, recordId: rec?.recordId ?? null, message: `line ${lineNo}: ${message}` });
  for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
    lineNo++;
    if (line.trim() === '' || line.startsWith('!')) continue;
    if (line.length > MAX_CDXJ_LINE) {
      add(`longer than ${MAX_CDXJ_LINE} characters; not an index entry`);
      continue;
    }
    // "urlkey timestamp {json}": the key and the time hold no space, while the key may hold a brace
    // (a query such as `variables={…}`), so the JSON starts after the second space.
    const sp1 = line.indexOf(' ');
    const sp2 = sp1 < 0 ? -1 : line.indexOf(' ', sp1 + 1);
    let entry: { url?: unknown; offset?: unknown; length?: unknown; filename?: unknown };
    try {
      entry = JSON.parse(sp2 > 0 ? line.slice(sp2 + 1) : '') as typeof entry;
    } catch {
      add('not "urlkey timestamp {json}"');
      continue;
    }
    const name = typeof entry.filename === 'string' ? entry.filename : null;
    const offset = Number(entry.offset);
    const length = Number(entry.length);
    if (!name || !Number.isInteger(offset) || !Number.isInteger(length)) {
      add('lacks filename, offset or length');
      continue;
    }
    const records = byOffset.get(name);
    if (!records) {
      add(`points into ${name}, which is not under archive/`);
      continue;
    }
    const rec = records.get(offset);
    if (!rec) {
      // A damaged gzip member hides its record's header: the index still says what was there.
      const lost = findings.find((f) => f.check === 'gzip' && f.file === `archive/${name}` && f.offset === offset && f.targetUri === null);
      if (lost && typeof entry.url === 'string') {
        lost.targetUri = entry.url;
        lost.message += ` (the index lists ${entry.url} there)`;
        continue;
      }
      add(`points at offset ${offset} of ${name}, where no record starts`);
      continue;
    }
    // Plain WARCs are indexed without the record's closing CRLF CRLF by some tools.
    if (length !== rec.length && length !== rec.length - 4) add(`states length ${length} for the record at offset ${offset} of ${name}, which is ${rec.length} bytes`, rec);
    if (typeof entry.url === 'string' && rec.targetUri !== null && entry.url !== rec.targetUri) add(`states URL ${entry.url}, the record at offset ${offset} of ${name} is for ${rec.targetUri}`, rec);
  }
}
