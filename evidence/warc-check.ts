import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { AsyncIterReader, WARCParser, type WARCRecord } from 'warcio';
import { dechunk, httpHeaderEnd, isChunked, type DechunkState } from '../lib/http-message.js';

/**
 * Record-by-record check of a WARC (ISO 28500, WARC/1.0 or 1.1; gzip per record or plain), read
 * once as a stream with warcio.js: structure, every block and payload digest present, the
 * `WARC-IP-Address` of responses, request/response pairs. Memory stays bounded by the header budget
 * and the per-record facts kept for the pair checks; blocks are never held whole. A payload digest
 * passes in either form found in the wild: over the bytes after the HTTP header block as recorded
 * (transfer coding kept; what Exhibit writes, and what Python warcio check verifies), or over the
 * entity body with the transfer coding removed (WARC 1.1 §6.3.2). A note names the form that matched.
 */

export const WARC_CHECKS = [
  'structure',
  'content-length',
  'block-digest',
  'payload-digest',
  'payload-digest-form',
  'digest-missing',
  'ip-address',
  'request-response',
  'revisit',
  'gzip',
  'cdxj',
  'datapackage',
  'signature',
  'timestamp',
] as const;
export type WarcCheck = (typeof WARC_CHECKS)[number];

/** `error` fails the check; `warning` is worth a look but proves nothing wrong; `note` is information. */
export type WarcSeverity = 'error' | 'warning' | 'note';

export interface WarcFinding {
  severity: WarcSeverity;
  check: WarcCheck;
  /** The WARC file (inside a WACZ: its path in the zip). */
  file: string;
  /** Offset of the record in the file as stored (compressed offset for gzip), or null for file-level findings. */
  offset: number | null;
  recordType: string | null;
  targetUri: string | null;
  recordId: string | null;
  message: string;
}

export interface WarcCheckOptions {
  /**
   * Whose WARC this is: `exhibit` applies Exhibit's own rules (every response names its
   * `WARC-IP-Address`, every response has its request); `foreign` the looser ones for other tools;
   * `auto` decides from the `warcinfo` record.
   * @defaultValue `auto`
   */
  origin?: 'auto' | 'exhibit' | 'foreign';
  /** Name used in findings. @defaultValue the path, or `warc` */
  name?: string;
}

export interface WarcCheckResult {
  ok: boolean;
  /** Records read. */
  records: number;
  findings: WarcFinding[];
  /** Whether Exhibit's rules were applied, and why. */
  origin: { exhibit: boolean; reason: string };
}

/** A record's place and identity, kept for pair and index checks. */
export interface WarcRecordFacts {
  offset: number;
  /** Bytes from this record's start to the next one's (or the end of the file). */
  length: number;
  type: string;
  targetUri: string | null;
  recordId: string | null;
  date: string | null;
}

/** Headers above this many bytes (a record's header block) stop the read: no WARC needs them. */
const MAX_HEADER_BYTES = 1024 * 1024;
/** How far into an HTTP block to look for the end of the HTTP header block (as the writer does). */
const HTTP_HEAD_SCAN = 256 * 1024;
/** Largest warcinfo block read for its fields. */
const MAX_WARCINFO = 64 * 1024;
/** Input read size: also bounds what one inflate step can expand to. */
const READ_CHUNK = 16 * 1024;

const HTTP_TYPES = new Set(['request', 'response', 'revisit']);
const NEEDS_TARGET = new Set(['response', 'resource', 'request', 'revisit', 'conversion', 'continuation']);
const ALGOS: Record<string, { node: string; bytes: number }> = {
  sha1: { node: 'sha1', bytes: 20 },
  sha256: { node: 'sha256', bytes: 32 },
  sha512: { node: 'sha512', bytes: 64 },
  md5: { node: 'md5', bytes: 16 },
};

class HeaderBudgetExceeded extends Error {}

/** warcio's reader with a byte budget while headers are read, and a look at what follows each block. */
class BoundedReader extends AsyncIterReader {
  budget: number | null = null;
  /** Set after a block was read: the next line warcio reads must be the record's closing CRLF. */
  expectSeparator = false;
  separatorProblem: string | null = null;

  override async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    for await (const chunk of super[Symbol.asyncIterator]()) {
      if (this.budget !== null) {
        this.budget -= chunk.length;
        if (this.budget < 0) throw new HeaderBudgetExceeded();
      }
      yield chunk;
    }
  }

  override async readlineRaw(maxLength?: number): Promise<Uint8Array | null> {
    if (!this.expectSeparator) return super.readlineRaw(maxLength ?? MAX_HEADER_BYTES);
    this.expectSeparator = false;
    const line = await super.readlineRaw(64);
    const text = line ? Buffer.from(line).toString('latin1') : '';
    if (text !== '\r\n' && text !== '\n') {
      this.separatorProblem = line === null ? 'the file ends right after the block (no CRLF CRLF)' : `the block is followed by ${JSON.stringify(text.slice(0, 40))} instead of CRLF CRLF`;
      // Hand warcio a clean separator: reading stops at this record anyway.
      return new TextEncoder().encode('\r\n');
    }
    return line;
  }
}

/** Counts the bytes read from the underlying file (raw, compressed when gzip). */
async function* counted(source: AsyncIterable<Uint8Array>, box: { bytes: number }): AsyncGenerator<Uint8Array> {
  for await (const c of source) {
    box.bytes += c.length;
    yield c;
  }
}

function base32Decode(s: string): Buffer | null {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const clean = s.toUpperCase().replace(/=+$/, '');
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const ch of clean) {
    const v = alphabet.indexOf(ch);
    if (v < 0) return null;
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/**
 * A `WARC-*-Digest` value as bytes: `algorithm:value`, the value in base32 (as most tools write
 * SHA-1), base16 (as many write SHA-256/512) or base64, whichever decodes to the algorithm's length.
 */
export function parseWarcDigest(value: string): { algo: string; node: string; bytes: Buffer } | { error: string } {
  const colon = value.indexOf(':');
  if (colon <= 0) return { error: `"${value}" is not algorithm:value` };
  const algo = value.slice(0, colon).trim().toLowerCase().replace(/-/g, '');
  const v = value.slice(colon + 1).trim();
  const spec = ALGOS[algo];
  if (!spec) return { error: `unknown digest algorithm "${value.slice(0, colon)}"` };
  if (/^[0-9a-fA-F]+$/.test(v) && v.length === spec.bytes * 2) return { algo, node: spec.node, bytes: Buffer.from(v, 'hex') };
  if (/^[A-Za-z2-7]+=*$/.test(v)) {
    const b = base32Decode(v);
    if (b && b.length === spec.bytes) return { algo, node: spec.node, bytes: b };
  }
  if (/^[A-Za-z0-9+/_-]+=*$/.test(v)) {
    const b = Buffer.from(v.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (b.length === spec.bytes) return { algo, node: spec.node, bytes: b };
  }
  return { error: `"${value}" is not a ${algo} digest in base32, base16 or base64` };
}

interface DigestSlot {
  header: string;
  parsed: { algo: string; node: string; bytes: Buffer };
  hash: Hash;
}

function slot(header: string | null, onError: (msg: string) => void): DigestSlot | null {
  if (!header) return null;
  const parsed = parseWarcDigest(header);
  if ('error' in parsed) {
    onError(parsed.error);
    return null;
  }
  return { header, parsed, hash: createHash(parsed.node) };
}

/** Reads the first `max` bytes of a stream (and whether there was more), consuming only what it returns. */
async function takeHead(it: AsyncIterator<Uint8Array>, max: number): Promise<{ head: Buffer; rest: Uint8Array | null }> {
  const parts: Buffer[] = [];
  let size = 0;
  while (size < max) {
    const r = await it.next();
    if (r.done) break;
    const c = Buffer.from(r.value);
    parts.push(c);
    size += c.length;
    const joined = Buffer.concat(parts);
    const end = httpHeaderEnd(joined);
    if (end !== null) return { head: joined.subarray(0, end), rest: joined.subarray(end) };
  }
  const joined = Buffer.concat(parts);
  return { head: joined, rest: null };
}

/** An async iterable over `it` that does not close it when a consumer stops early. */
function keepOpen(it: AsyncIterator<Uint8Array>): AsyncIterable<Uint8Array> {
  return { [Symbol.asyncIterator]: () => ({ next: () => it.next() }) };
}

function parseFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const c = line.indexOf(':');
    if (c > 0) fields.set(line.slice(0, c).trim().toLowerCase(), line.slice(c + 1).trim());
  }
  return fields;
}

interface Ctx {
  file: string;
  findings: WarcFinding[];
  facts: WarcRecordFacts[];
  exhibit: boolean;
  links: Array<{ from: WarcRecordFacts; to: string }>;
  byId: Map<string, WarcRecordFacts>;
  payloadById: Map<string, string>;
  revisits: Array<{ rec: WarcRecordFacts; refersTo: string | null; digest: string | null }>;
}

/**
 * Check every record of a WARC. `source` is a path, or a function returning the bytes as a stream
 * (read once). Never throws for bad content — everything wrong is a finding — only for an
 * unreadable source.
 */
export async function checkWarc(source: string | (() => AsyncIterable<Uint8Array>), opts: WarcCheckOptions = {}): Promise<WarcCheckResult> {
  const detail = await checkWarcDetailed(source, opts);
  return { ok: detail.ok, records: detail.records, findings: detail.findings, origin: detail.origin };
}

/** {@link checkWarc}, plus every record's offset and length (for index checks). */
export async function checkWarcDetailed(source: string | (() => AsyncIterable<Uint8Array>), opts: WarcCheckOptions = {}): Promise<WarcCheckResult & { recordFacts: WarcRecordFacts[] }> {
  const file = opts.name ?? (typeof source === 'string' ? source : 'warc');
  const open = typeof source === 'string' ? () => createReadStream(source, { highWaterMark: READ_CHUNK }) : source;
  const box = { bytes: 0 };
  const reader = new BoundedReader(counted(open(), box), 'gzip');
  const parser = new WARCParser(reader, { parseHttp: false, keepHeadersCase: true });
  const ctx: Ctx = {
    file,
    findings: [],
    facts: [],
    exhibit: opts.origin === 'exhibit',
    links: [],
    byId: new Map(),
    payloadById: new Map(),
    revisits: [],
  };
  let originReason = opts.origin === 'exhibit' || opts.origin === 'foreign' ? 'stated by the caller' : 'no warcinfo record names Exhibit';
  const fileFinding = (severity: WarcSeverity, check: WarcCheck, message: string, offset: number | null = null) =>
    ctx.findings.push({ severity, check, file, offset, recordType: null, targetUri: null, recordId: null, message });

  let lastOffset = -1;
  let stopped = false;
  // warcio reads on as plain bytes after a gzip member that fails to inflate: that switch is the only sign of it.
  let gzipped: boolean | null = null;
  const inflateFailed = (): boolean => {
    if (!gzipped || reader.compressed) return false;
    const prev = ctx.facts.at(-1);
    const at = prev && prev.offset >= parser.offset ? prev.offset : parser.offset;
    const rec = prev && prev.offset === at ? prev : null;
    ctx.findings.push({
      severity: 'error', check: 'gzip', file, offset: at, recordType: rec?.type ?? null, targetUri: rec?.targetUri ?? null, recordId: rec?.recordId ?? null,
      message: `the gzip member at offset ${at} does not inflate (its compressed bytes are damaged): ${rec ? 'this record' : 'the record there'} and everything after it are unreadable; reading stopped there`,
    });
    return true;
  };
  for (;;) {
    let record: WARCRecord | null;
    reader.budget = MAX_HEADER_BYTES;
    try {
      record = await parser.parse();
    } catch (e) {
      if (e instanceof HeaderBudgetExceeded) fileFinding('error', 'structure', `a record header block at or after offset ${parser.offset} is larger than ${MAX_HEADER_BYTES} bytes; reading stopped there`, parser.offset);
      else fileFinding('error', 'structure', `unreadable at or after offset ${parser.offset}: ${(e as Error).message}; reading stopped there`, parser.offset);
      stopped = true;
      break;
    } finally {
      reader.budget = null;
    }
    if (record && gzipped === null) gzipped = !!reader.compressed;
    if (inflateFailed()) {
      stopped = true;
      break;
    }
    if (reader.separatorProblem !== null) {
      const prev = ctx.facts.at(-1);
      ctx.findings.push({
        severity: 'error',
        check: 'content-length',
        file,
        offset: prev?.offset ?? null,
        recordType: prev?.type ?? null,
        targetUri: prev?.targetUri ?? null,
        recordId: prev?.recordId ?? null,
        message: `Content-Length does not end the block: ${reader.separatorProblem}; reading stopped there`,
      });
      stopped = true;
      break;
    }
    if (!record) break;
    const offset = parser.offset;
    if (reader.compressed && offset === lastOffset && !ctx.findings.some((f) => f.check === 'gzip')) {
      fileFinding('warning', 'gzip', `more than one record in one gzip member at offset ${offset}: the file is not gzip per record, so records cannot be addressed by offset`, offset);
    }
    lastOffset = offset;
    let ended: Awaited<ReturnType<typeof checkRecord>>;
    try {
      ended = await checkRecord(record, offset, ctx);
    } catch (e) {
      // e.g. a zip entry failing its CRC, or a read error: what was read is reported, the rest is not
      fileFinding('error', 'structure', `unreadable inside the record at offset ${offset}: ${(e as Error).message}; reading stopped there`, offset);
      stopped = true;
      break;
    }
    if (ctx.facts.length === 1 && ended.exhibitInfo) {
      if ((opts.origin ?? 'auto') === 'auto') {
        ctx.exhibit = true;
        originReason = 'its warcinfo record names Exhibit';
      }
    }
    if (ended.stop || inflateFailed()) {
      stopped = true;
      break;
    }
    reader.expectSeparator = true;
  }
  if (!stopped && ctx.facts.length === 0) fileFinding('error', 'structure', 'no WARC record found');
  // A gzip member cut short yields nothing at all to the reader: only the byte count shows it.
  if (!stopped && reader.compressed && reader.getRawOffset() < box.bytes) {
    const at = reader.getRawOffset();
    fileFinding('error', 'content-length', `truncated: the file ends inside a gzip member that starts at offset ${at} (${box.bytes - at} bytes of it present); the record there, if any, is lost`, at);
  }

  // Lengths: from each record's start to the next one's.
  for (let i = 0; i < ctx.facts.length; i++) {
    const next = ctx.facts[i + 1];
    ctx.facts[i]!.length = (next ? next.offset : box.bytes) - ctx.facts[i]!.offset;
  }
  crossChecks(ctx);
  const ok = !ctx.findings.some((f) => f.severity === 'error');
  return { ok, records: ctx.facts.length, findings: ctx.findings, origin: { exhibit: ctx.exhibit, reason: originReason }, recordFacts: ctx.facts };
}

async function checkRecord(record: WARCRecord, offset: number, ctx: Ctx): Promise<{ stop: boolean; exhibitInfo: boolean }> {
  const h = record.warcHeaders.headers;
  const get = (name: string): string | null => h.get(name) ?? null;
  const type = get('WARC-Type') ?? '(none)';
  const targetUri = get('WARC-Target-URI');
  const recordId = get('WARC-Record-ID');
  const facts: WarcRecordFacts = { offset, length: 0, type, targetUri, recordId, date: get('WARC-Date') };
  ctx.facts.push(facts);
  const add = (severity: WarcSeverity, check: WarcCheck, message: string) =>
    ctx.findings.push({ severity, check, file: ctx.file, offset, recordType: type, targetUri, recordId, message });

  const version = record.warcHeaders.statusline.trim();
  if (version !== 'WARC/1.0' && version !== 'WARC/1.1') {
    if (ctx.facts.length === 1) {
      // Not a WARC at all (no record read): a file-level finding, and no record counted.
      ctx.facts.pop();
      ctx.findings.push({ severity: 'error', check: 'structure', file: ctx.file, offset, recordType: null, targetUri: null, recordId: null, message: `not a WARC: the file starts with ${JSON.stringify(version.slice(0, 40))}, not WARC/1.0 or WARC/1.1` });
      return { stop: true, exhibitInfo: false };
    }
    add('error', 'structure', `does not start with WARC/1.0 or WARC/1.1 but ${JSON.stringify(version.slice(0, 40))}; reading stopped here`);
    return { stop: true, exhibitInfo: false };
  }
  for (const f of ['WARC-Record-ID', 'WARC-Type', 'WARC-Date', 'Content-Length']) if (!get(f)) add('error', 'structure', `required field ${f} is missing`);
  const lengthText = get('Content-Length') ?? '';
  if (lengthText && !/^\d+$/.test(lengthText)) {
    add('error', 'structure', `Content-Length "${lengthText}" is not a number; reading stopped here`);
    return { stop: true, exhibitInfo: false };
  }
  const contentLength = Number(lengthText || 0);
  if (NEEDS_TARGET.has(type) && !targetUri) add('error', 'structure', `a ${type} record needs WARC-Target-URI`);
  if (recordId) {
    if (ctx.byId.has(recordId)) add('error', 'structure', `WARC-Record-ID ${recordId} is used by another record too (offset ${ctx.byId.get(recordId)!.offset})`);
    else ctx.byId.set(recordId, facts);
  }
  const concurrent = h.get('WARC-Concurrent-To');
  if (concurrent) for (const id of concurrent.split(/,\s*(?=<)/)) ctx.links.push({ from: facts, to: id.trim() });

  const onDigestError = (which: string) => (msg: string) => add('error', which === 'block' ? 'block-digest' : 'payload-digest', `WARC-${which === 'block' ? 'Block' : 'Payload'}-Digest: ${msg}`);
  const block = slot(get('WARC-Block-Digest'), onDigestError('block'));
  const segmented = get('WARC-Segment-Number') !== null;
  const isRevisit = type === 'revisit';
  // A revisit's payload digest names the payload of the record it revisits, not anything in its block.
  const payload = isRevisit || segmented ? null : slot(get('WARC-Payload-Digest'), onDigestError('payload'));
  const httpBlock = HTTP_TYPES.has(type) && /^application\/http/i.test(get('Content-Type') ?? 'application/http');
  if (isRevisit) {
    ctx.revisits.push({ rec: facts, refersTo: get('WARC-Refers-To'), digest: get('WARC-Payload-Digest') });
    if (!get('WARC-Profile')) add('error', 'structure', 'a revisit record needs WARC-Profile');
  }
  if (!get('WARC-Block-Digest') && !get('WARC-Payload-Digest') && type !== 'warcinfo') {
    add(ctx.exhibit ? 'error' : 'note', 'digest-missing', 'no WARC-Block-Digest or WARC-Payload-Digest: nothing ties this record to its bytes');
  }
  if (type === 'response' && /^https?:/i.test(targetUri ?? '') && !get('WARC-IP-Address')) {
    add(ctx.exhibit ? 'error' : 'warning', 'ip-address', ctx.exhibit ? 'no WARC-IP-Address: Exhibit records the address of every response' : 'no WARC-IP-Address: the WARC does not say which server answered');
  }

  // One pass over the block: block digest over the raw bytes, payload digest over the payload.
  let blockBytes = 0;
  const blockIt = (async function* () {
    for await (const c of record.reader) {
      blockBytes += c.length;
      block?.hash.update(c);
      yield c;
    }
  })()[Symbol.asyncIterator]();
  let warcinfoText = '';
  let rawPayload: Hash | null = null;
  const dechunkState: DechunkState = { complete: false, malformed: false };
  let chunked = false;
  if (httpBlock) {
    const { head, rest } = await takeHead(blockIt, HTTP_HEAD_SCAN);
    if (rest === null) {
      if (head.length > 0 && type !== 'revisit') add('warning', 'structure', `no complete HTTP header block in the first ${Math.min(head.length, HTTP_HEAD_SCAN)} bytes of the block`);
    } else {
      chunked = isChunked(head);
      if (chunked && payload) rawPayload = createHash(payload.parsed.node);
      const body = (async function* () {
        if (rest.length) yield rest;
        for await (const c of keepOpen(blockIt)) yield c;
      })()[Symbol.asyncIterator]();
      const tapped = (async function* () {
        for await (const c of keepOpen(body)) {
          rawPayload?.update(c);
          yield c;
        }
      })()[Symbol.asyncIterator]();
      if (payload) for await (const c of chunked ? dechunk(keepOpen(tapped), dechunkState) : keepOpen(tapped)) payload.hash.update(c);
      for await (const _ of keepOpen(tapped)); // whatever follows the last chunk is block, not payload
    }
  } else if (type === 'warcinfo') {
    for await (const c of keepOpen(blockIt)) {
      payload?.hash.update(c);
      if (warcinfoText.length < MAX_WARCINFO) warcinfoText += Buffer.from(c).toString('utf8');
    }
  } else {
    for await (const c of keepOpen(blockIt)) payload?.hash.update(c);
  }
  for await (const _ of keepOpen(blockIt));

  if (blockBytes < contentLength) {
    add('error', 'content-length', `truncated: Content-Length says ${contentLength} bytes, the file ends after ${blockBytes}; reading stopped here`);
    return { stop: true, exhibitInfo: false };
  }
  if (block) {
    const got = block.hash.digest();
    if (!got.equals(block.parsed.bytes)) add('error', 'block-digest', `block digest does not match: the record says ${block.header}, the ${blockBytes} bytes of the block hash to ${block.parsed.algo}:${got.toString('hex')}`);
  }
  let exhibitInfo = false;
  if (type === 'warcinfo') {
    const fields = parseFields(warcinfoText);
    exhibitInfo = fields.has('exhibit-capture-id') || /^exhibit\b/i.test(fields.get('software') ?? '');
  }
  if (payload) {
    const got = payload.hash.digest();
    const gotRaw = rawPayload?.digest() ?? null;
    // Unchunked, both forms are the same bytes; chunked, either form passes and the note says which.
    if (gotRaw?.equals(payload.parsed.bytes)) {
      add('note', 'payload-digest-form', 'WARC-Payload-Digest matches the payload as recorded (transfer coding kept; the form Exhibit writes and Python warcio check verifies)');
    } else if (got.equals(payload.parsed.bytes)) {
      if (chunked) add('note', 'payload-digest-form', 'WARC-Payload-Digest matches the entity body with the transfer coding removed (WARC 1.1 §6.3.2)');
      if (chunked && dechunkState.malformed) add('warning', 'payload-digest', 'the chunked body\'s framing is broken; the payload was read up to the break and the rest taken as sent');
    } else {
      const forms = chunked ? `the payload as recorded hashes to ${payload.parsed.algo}:${gotRaw!.toString('hex')}, de-chunked to ${payload.parsed.algo}:${got.toString('hex')}` : `the payload hashes to ${payload.parsed.algo}:${got.toString('hex')}`;
      add('error', 'payload-digest', `payload digest does not match: the record says ${payload.header}; ${forms}`);
    }
    if (recordId) ctx.payloadById.set(recordId, payload.header);
  }
  return { stop: false, exhibitInfo };
}

function sameDigest(a: string, b: string): boolean {
  const pa = parseWarcDigest(a);
  const pb = parseWarcDigest(b);
  if ('error' in pa || 'error' in pb) return a === b;
  return pa.algo === pb.algo && pa.bytes.equals(pb.bytes);
}

function crossChecks(ctx: Ctx): void {
  const add = (rec: WarcRecordFacts, severity: WarcSeverity, check: WarcCheck, message: string) =>
    ctx.findings.push({ severity, check, file: ctx.file, offset: rec.offset, recordType: rec.type, targetUri: rec.targetUri, recordId: rec.recordId, message });
  const paired = new Set<WarcRecordFacts>();
  for (const { from, to } of ctx.links) {
    const other = ctx.byId.get(to);
    if (!other) {
      add(from, ctx.exhibit ? 'error' : 'warning', 'request-response', `WARC-Concurrent-To ${to} names no record in this file`);
      continue;
    }
    const pair = new Set([from.type, other.type]);
    if (pair.has('request') && (pair.has('response') || pair.has('revisit'))) {
      paired.add(from);
      paired.add(other);
      if (from.targetUri !== other.targetUri) add(from, 'error', 'request-response', `is concurrent to ${other.type} ${to} at offset ${other.offset}, whose target URI is ${other.targetUri ?? '(none)'}`);
    }
  }
  for (const rec of ctx.facts) {
    if (rec.type !== 'response' || paired.has(rec)) continue;
    add(rec, ctx.exhibit ? 'error' : 'note', 'request-response', 'no request record is linked to this response by WARC-Concurrent-To');
  }
  for (const { rec, refersTo, digest } of ctx.revisits) {
    const original = refersTo ? ctx.payloadById.get(refersTo) : undefined;
    if (refersTo && original !== undefined && digest) {
      if (!sameDigest(original, digest)) add(rec, 'error', 'revisit', `states payload digest ${digest}, but the record it refers to (${refersTo}) states ${original}`);
    } else {
      add(rec, 'note', 'revisit', 'revisits a payload recorded elsewhere; that record is not in this file, so its payload digest is not checked here');
    }
  }
}
