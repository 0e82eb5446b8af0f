/**
 * WACZ 1.1.1 (Webrecorder's Web Archive Collection Zipped) from sealed WARCs, so ReplayWeb.page and
 * pywb replay a capture, and py-wacz validates it.
 *
 * Layout: `archive/<name>.warc.gz` — each WARC exactly as recorded (ZIP STORE, never recompressed or
 * rewritten; the bytes are hashed on their way into the zip and must equal the sealed digest);
 * `indexes/index.cdxj` — CDXJ (SURT key, 14-digit time, JSON with url, mime, status, digest, length,
 * offset, filename), sorted; `pages/pages.jsonl` — the captured page(s) with title and the time of
 * their recorded response; `datapackage.json` — every file with its SHA-256 and size;
 * `datapackage-digest.json` — the SHA-256 of datapackage.json, its anonymous signature (ECDSA P-384,
 * see wacz-key.ts) and the RFC 3161 tokens over that same digest (`timestamps`, each the
 * TimeStampResp as received, base64), so `openssl ts -verify -digest <hex>` checks them.
 *
 * Reads each WARC twice (index, then zip) as a stream: memory stays bounded by the index lines and
 * a request body read for the index (POST bodies up to {@link MAX_REQUEST_BODY}).
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as nodePath from 'node:path';
import { rm, stat } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CDXIndexer, WARCParser, type WARCRecord } from 'warcio';
import yazl from 'yazl';
import { IntegrityError, PermanentError } from '../lib/errors.js';
import { timestampDigest, type TimestampDeps, type TsaEndpoint } from './timestamp.js';
import { signWaczHash, type WaczSigningKey } from './wacz-key.js';

export const WACZ_VERSION = '1.1.1';
export const WACZ_MEDIA_TYPE = 'application/wacz';

let toolCache: string | null = null;
/** The libraries that index and zip, with their versions (a WACZ derivation's `tool`). */
export function waczTool(): string {
  if (toolCache === null) {
    const require = createRequire(import.meta.url);
    const version = (pkgJson: string): string => (JSON.parse(readFileSync(pkgJson, 'utf8')) as { version?: string }).version ?? 'unknown';
    const warcio = version(nodePath.join(nodePath.dirname(require.resolve('warcio')), '..', 'package.json'));
    toolCache = `warcio.js ${warcio} (CDXJ) + yazl ${version(require.resolve('yazl/package.json'))}`;
  }
  return toolCache;
}

/** Request bodies read for the index (a POST's query key); larger ones are indexed by URL only. */
const MAX_REQUEST_BODY = 1024 * 1024;
/** Index lines kept for sorting: beyond this the WARC is not one capture's. */
const MAX_INDEX_LINES = 2_000_000;

export interface WaczWarc {
  /** The WARC file to pack. */
  path: string;
  /** Its name under archive/ (e.g. `traffic.warc.gz`): lowercase letters, digits, `.`, `-`, `_`. */
  name: string;
  /** The sealed `sha256:` of the WARC: the bytes zipped must hash to it. */
  sha256?: string;
}

export interface WaczPageInput {
  url: string;
  title: string | null;
  /** Used when no response for `url` is in the WARCs. */
  fallbackTs: string;
}

/** RFC 3161 tokens over a `sha256:` digest (the same TSA path as manifests). */
export type WaczTimestamper = (digest: string) => Promise<{ tokens: Array<{ tsaUrl: string; genTime: string; tsr: Buffer }>; failures: Array<{ tsaUrl: string; message: string }> }>;

/** A {@link WaczTimestamper} over the configured TSAs: the client, checks and retries manifests use. */
export function tsaTimestamper(tsas: TsaEndpoint[], deps: TimestampDeps): WaczTimestamper {
  return async (digest) => {
    const r = await timestampDigest(digest, tsas, deps);
    return {
      tokens: r.tokens.map((t) => ({ tsaUrl: t.record.tsaUrl, genTime: t.record.genTime, tsr: t.tsr })),
      failures: r.failures.map((f) => ({ tsaUrl: f.tsaUrl, message: `${f.failure.code}: ${f.failure.message}` })),
    };
  };
}

export interface BuildWaczOptions {
  warcs: WaczWarc[];
  outPath: string;
  pages: WaczPageInput[];
  title: string;
  description?: string;
  /** ISO-8601 UTC: datapackage `created`/`modified` and the signature's `created`. */
  created: string;
  /** e.g. `Exhibit 0.1.0`. */
  software: string;
  /** Null: the WACZ carries its digest but no signature. */
  signingKey: WaczSigningKey | null;
  /** Null: no timestamp tokens. */
  timestamp: WaczTimestamper | null;
}

export interface BuiltWacz {
  path: string;
  size: number;
  /** `sha256:` of datapackage.json (the signed and timestamped digest). */
  datapackageHash: string;
  indexLines: number;
  pages: Array<{ url: string; ts: string; title: string | null; recorded: boolean }>;
  signed: boolean;
  keyFingerprint: string | null;
  timestamps: Array<{ tsaUrl: string; genTime: string }>;
  timestampFailures: Array<{ tsaUrl: string; message: string }>;
}

interface IndexOutcome {
  lines: string[];
  /** First response date per target URI. */
  responseDates: Map<string, string>;
}

/** warcio's CDX indexer, reading only request bodies (for POST keys) and skipping every other block. */
class StreamingCdxIndexer extends CDXIndexer {
  readonly responseDates = new Map<string, string>();
  /** Records read, per file. */
  readonly records = new Map<string, number>();
  override async *iterRecords(parser: WARCParser, filename: string): AsyncGenerator<Record<string, unknown>, void, unknown> {
    this._lastRecord = null;
    for await (const record of parser as AsyncIterable<WARCRecord>) {
      // Only the first record: warcio.js misreads the version line after a request with no header lines (it still indexes it right).
      const version = record.warcHeaders.statusline.trim();
      if (!this.records.get(filename) && version !== 'WARC/1.0' && version !== 'WARC/1.1') throw new PermanentError('INVALID_INPUT', `the WARC could not be indexed: ${filename} has no WARC record at offset ${parser.offset} (it starts ${JSON.stringify(version.slice(0, 40))})`);
      this.records.set(filename, (this.records.get(filename) ?? 0) + 1);
      const len = Number(record.warcHeader('Content-Length') ?? 0);
      if (record.warcType === 'request' && len <= MAX_REQUEST_BODY) await record.readFully();
      else await record.skipFully();
      if (record.warcType === 'response' && record.warcTargetURI && record.warcDate && !this.responseDates.has(record.warcTargetURI)) this.responseDates.set(record.warcTargetURI, record.warcDate);
      const entry = this.indexRecord(record, parser, filename);
      if (entry) yield entry;
    }
    const last = this.indexRecord(null, parser, filename);
    if (last) yield last;
  }
}

/** CDXJ lines of the WARCs (unsorted), and when each URL's response was recorded. */
async function indexWarcs(warcs: WaczWarc[]): Promise<IndexOutcome> {
  const indexer = new StreamingCdxIndexer({ format: 'cdxj' });
  const lines: string[] = [];
  for (const w of warcs) {
    const parser = new WARCParser(createReadStream(w.path, { highWaterMark: 64 * 1024 }));
    for await (const entry of indexer.iterRecords(parser, w.name)) {
      if (lines.length >= MAX_INDEX_LINES) throw new PermanentError('INVALID_INPUT', `more than ${MAX_INDEX_LINES} index entries`);
      lines.push(indexer.serializeCDXJ(entry).replace(/\n$/, ''));
    }
    if (!indexer.records.get(w.name)) throw new PermanentError('INVALID_INPUT', `the WARC could not be indexed: no WARC record read from ${w.name}`);
  }
  return { lines, responseDates: indexer.responseDates };
}

const sha256Hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const jsonText = (v: unknown) => Buffer.from(`${JSON.stringify(v, null, 2)}\n`);

/**
 * Build a WACZ at `outPath` (refused if it exists). Throws PermanentError when a WARC cannot be
 * indexed, IntegrityError HASH_MISMATCH when a WARC's bytes are not its sealed digest; never writes
 * a partial file (removed on failure).
 */
export async function buildWacz(o: BuildWaczOptions): Promise<BuiltWacz> {
  if (o.warcs.length === 0) throw new PermanentError('INVALID_INPUT', 'a WACZ needs at least one WARC');
  const names = new Set<string>();
  for (const w of o.warcs) {
    if (!/^[a-z0-9][a-z0-9._-]*\.warc(\.gz)?$/.test(w.name) || names.has(w.name)) throw new PermanentError('INVALID_INPUT', `WARC name ${JSON.stringify(w.name)} is not a unique archive/ name (lowercase, .warc or .warc.gz)`);
    names.add(w.name);
  }
  if (await stat(o.outPath).catch(() => null)) throw new PermanentError('INVALID_INPUT', `${o.outPath} exists; refusing to overwrite`);

  let index: IndexOutcome;
  try {
    index = await indexWarcs(o.warcs);
  } catch (cause) {
    if (cause instanceof PermanentError) throw cause;
    throw new PermanentError('INVALID_INPUT', `the WARC could not be indexed: ${(cause as Error).message}`, { cause });
  }
  const cdxj = Buffer.from(index.lines.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map((l) => `${l}\n`).join(''));

  const pages = o.pages.map((p) => {
    const recordedAt = index.responseDates.get(p.url);
    return { url: p.url, ts: recordedAt ?? p.fallbackTs, title: p.title, recorded: recordedAt !== undefined };
  });
  const pagesJsonl = Buffer.from(
    [{ format: 'json-pages-1.0', id: 'pages', title: 'All Pages' }, ...pages.map((p, i) => ({ id: `page-${i + 1}`, url: p.url, ts: p.ts, ...(p.title !== null ? { title: p.title } : {}) }))]
      .map((l) => `${JSON.stringify(l)}\n`)
      .join(''),
  );

  // The WARCs' digests are those of the bytes that go into the zip: hashed on the way in.
  const warcDigests = new Map<string, { sha256: string; size: number }>();
  const resources: Array<{ name: string; path: string; hash: string; bytes: number }> = [];
  for (const w of o.warcs) {
    const st = await stat(w.path);
    resources.push({ name: w.name, path: `archive/${w.name}`, hash: '', bytes: st.size });
  }
  resources.push({ name: 'index.cdxj', path: 'indexes/index.cdxj', hash: `sha256:${sha256Hex(cdxj)}`, bytes: cdxj.length });
  resources.push({ name: 'pages.jsonl', path: 'pages/pages.jsonl', hash: `sha256:${sha256Hex(pagesJsonl)}`, bytes: pagesJsonl.length });

  // datapackage.json lists the WARC digests, so they are read once before the zip is written.
  for (const [i, w] of o.warcs.entries()) {
    const h = createHash('sha256');
    let size = 0;
    for await (const c of createReadStream(w.path, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
      h.update(c);
      size += c.length;
    }
    const digest = `sha256:${h.digest('hex')}`;
    if (w.sha256 && digest !== w.sha256) throw new IntegrityError('HASH_MISMATCH', `WARC ${w.name} hashes to ${digest}, sealed as ${w.sha256}`);
    warcDigests.set(w.name, { sha256: digest, size });
    resources[i] = { ...resources[i]!, hash: digest, bytes: size };
  }

  const main = pages[0] ?? null;
  const datapackage = jsonText({
    profile: 'data-package',
    wacz_version: WACZ_VERSION,
    title: o.title,
    ...(o.description ? { description: o.description } : {}),
    created: o.created,
    modified: o.created,
    software: o.software,
    ...(main ? { mainPageUrl: main.url, mainPageDate: main.ts } : {}),
    resources,
  });
  const datapackageHash = `sha256:${sha256Hex(datapackage)}`;
  const signedData = o.signingKey
    ? { hash: datapackageHash, created: o.created, software: o.software, version: WACZ_VERSION, signature: signWaczHash(datapackageHash, o.signingKey), publicKey: o.signingKey.publicKeyBase64 }
    : null;
  const stamped = o.timestamp ? await o.timestamp(datapackageHash) : { tokens: [], failures: [] };
  const digestFile = jsonText({
    path: 'datapackage.json',
    hash: datapackageHash,
    ...(signedData ? { signedData } : {}),
    ...(stamped.tokens.length ? { timestamps: stamped.tokens.map((t) => ({ tsaUrl: t.tsaUrl, genTime: t.genTime, token: t.tsr.toString('base64') })) } : {}),
  });

  const mtime = new Date(o.created);
  const zip = new yazl.ZipFile();
  const written = pipeline(zip.outputStream, createWriteStream(o.outPath, { flags: 'wx' }));
  const zipped: Array<Promise<void>> = [];
  try {
    for (const w of o.warcs) {
      const expected = warcDigests.get(w.name)!;
      const h = createHash('sha256');
      let size = 0;
      const tap = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          h.update(chunk);
          size += chunk.length;
          cb(null, chunk);
        },
      });
      const source = createReadStream(w.path, { highWaterMark: 1024 * 1024 });
      zipped.push(
        pipeline(source, tap).then(() => {
          const got = `sha256:${h.digest('hex')}`;
          if (got !== expected.sha256 || size !== expected.size) throw new IntegrityError('HASH_MISMATCH', `WARC ${w.name} changed while it was zipped (${got}, listed as ${expected.sha256})`);
        }),
      );
      // STORE, as the spec asks for archive/: readers seek into the WARC by the index's offsets.
      zip.addReadStream(tap, `archive/${w.name}`, { compress: false, mtime, mode: 0o100644, size: expected.size });
    }
    zip.addBuffer(cdxj, 'indexes/index.cdxj', { compress: true, mtime, mode: 0o100644 });
    zip.addBuffer(pagesJsonl, 'pages/pages.jsonl', { compress: true, mtime, mode: 0o100644 });
    zip.addBuffer(datapackage, 'datapackage.json', { compress: true, mtime, mode: 0o100644 });
    zip.addBuffer(digestFile, 'datapackage-digest.json', { compress: true, mtime, mode: 0o100644 });
    zip.end();
    await Promise.all([written, ...zipped]);
  } catch (err) {
    await written.catch(() => undefined);
    await rm(o.outPath, { force: true });
    throw err;
  }
  return {
    path: o.outPath,
    size: (await stat(o.outPath)).size,
    datapackageHash,
    indexLines: index.lines.length,
    pages,
    signed: signedData !== null,
    keyFingerprint: o.signingKey?.fingerprint ?? null,
    timestamps: stamped.tokens.map((t) => ({ tsaUrl: t.tsaUrl, genTime: t.genTime })),
    timestampFailures: stamped.failures,
  };
}
