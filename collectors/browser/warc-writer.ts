import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { once } from 'node:events';
import { BaseSerializerBuffer, WARCRecord, WARCSerializer, WARC_1_1 } from 'warcio';
import { httpHeaderEnd } from '../../lib/http-message.js';
import type { RecordedExchange } from './recorded-exchange.js';

export { httpHeaderEnd };

/**
 * WARC 1.1 output for recorded exchanges, one gzip member per record. Response blocks are the raw
 * upstream bytes, streamed from disk twice (once to digest, once to write): nothing is reparsed or
 * rewritten and no body is held in memory. Records are built with warcio.js; the only thing done by
 * hand is the payload digest: over the bytes after the HTTP header block as recorded, transfer
 * coding kept. That is the form the common independent checkers verify (Python warcio `check` 1.8,
 * webrecorder/warcio#74 and #75); WARC 1.1 §6.3.2's entity body with the transfer coding removed
 * would make them fail every chunked response. `exhibit warc check` accepts either form.
 */

/** Facts for the `warcinfo` record. */
export interface WarcInfo {
  /** Software and versions, e.g. `Exhibit 0.1.0 (web collector 1.0.0); Chromium 140; warcio.js 2.4.11`. */
  software: string;
  operator: string;
  captureId: string;
  /** More `name: value` fields for the warcinfo record. */
  extra?: Record<string, string>;
  /**
   * Request header names (lowercase) whose values are withheld from `request` records: a
   * collection account's session (`cookie`, `authorization`) must not travel in packages. Each
   * value is replaced by its length and SHA-256, so the original can still be matched if produced;
   * the warcinfo record says so. Responses are never altered.
   */
  withholdRequestHeaders?: readonly string[];
}

/**
 * The request head with the values of `names` replaced by `withheld (…; sha256:<hex of the value>)`,
 * and the offset where the original head ends. Null when the file has no complete head.
 */
export async function withheldRequestHead(file: string, names: readonly string[]): Promise<{ head: Buffer; end: number } | null> {
  const fh = await open(file, 'r');
  let buf: Buffer;
  try {
    buf = Buffer.alloc(HEAD_SCAN_BYTES);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    buf = buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
  const end = httpHeaderEnd(buf);
  if (end === null) return null;
  const wanted = new Set(names.map((n) => n.toLowerCase()));
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const rewritten = lines.map((line, i) => {
    const colon = line.indexOf(':');
    if (i === 0 || colon <= 0 || !wanted.has(line.slice(0, colon).trim().toLowerCase())) return line;
    return `${line.slice(0, colon)}: ${withheldValue(line.slice(colon + 1).trim())}`;
  });
  return { head: Buffer.from(rewritten.join('\r\n'), 'latin1'), end };
}

const ISO_28500 = 'http://bibnum.bnf.fr/WARC/WARC_ISO_28500_version1-1_latestdraft.pdf';
const HEAD_SCAN_BYTES = 256 * 1024;

/** Feeds warcio's serializer a block straight from a file, instead of buffering what it digested. */
class FileBlock extends BaseSerializerBuffer {
  constructor(private readonly source: () => AsyncIterable<Uint8Array>) {
    super();
  }
  write(): void {
    // The block is re-read from its source in readAll(); nothing to keep.
  }
  async *readAll(): AsyncIterable<Uint8Array> {
    yield* this.source();
  }
  purge(): void {}
}

/** States in the warcinfo record which payload-digest form the file uses, so a reader need not guess. */
export const PAYLOAD_DIGEST_FIELD = 'exhibit-payload-digest';
export const PAYLOAD_DIGEST_AS_RECORDED = 'as-recorded (transfer coding kept; what warcio check verifies)';

/** SHA-256 of an HTTP message's payload: the bytes after the header block as recorded (chunk framing kept). */
async function payloadDigestOf(head: Uint8Array, body: () => AsyncIterable<Uint8Array>): Promise<string> {
  const hash = createHash('sha256');
  if (httpHeaderEnd(head) !== null) for await (const chunk of body()) hash.update(chunk);
  return `sha256:${hash.digest('hex')}`;
}

async function payloadDigestOfFile(file: string): Promise<string> {
  const fh = await open(file, 'r');
  let head: Buffer;
  try {
    const buf = Buffer.alloc(HEAD_SCAN_BYTES);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    head = buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
  const start = httpHeaderEnd(head) ?? head.length;
  return payloadDigestOf(head, () => createReadStream(file, { start }));
}

function payloadDigestOfBytes(bytes: Uint8Array): Promise<string> {
  const start = httpHeaderEnd(bytes) ?? bytes.length;
  return payloadDigestOf(bytes, async function* () {
    yield bytes.subarray(start);
  });
}

const recordId = () => `<urn:uuid:${randomUUID()}>`;

/** Serialise one record to the output as a gzip member of its own. */
async function emit(out: NodeJS.WritableStream, record: WARCRecord, block: FileBlock | null): Promise<void> {
  const serializer = block ? new WARCSerializer(record, { gzip: true }, block) : new WARCSerializer(record, { gzip: true });
  for await (const chunk of serializer) {
    if (!out.write(chunk)) await once(out, 'drain');
  }
}

function requestLine(ex: RecordedExchange): string {
  const u = new URL(ex.url);
  return `${ex.method} ${u.pathname}${u.search} HTTP/1.1`;
}

/** The request as the browser asked for it, for exchanges that never reached upstream. */
function withheldValue(value: string): string {
  const digest = createHash('sha256').update(Buffer.from(value, 'latin1')).digest('hex');
  return `withheld (collection account credential, ${Buffer.byteLength(value, 'latin1')} bytes, sha256:${digest})`;
}

function synthesizedRequest(ex: RecordedExchange, withhold: readonly string[] = []): Uint8Array {
  const wanted = new Set(withhold.map((n) => n.toLowerCase()));
  const lines = [requestLine(ex), ...ex.requestHeaders.map(([k, v]) => `${k}: ${wanted.has(k.toLowerCase()) ? withheldValue(v) : v}`)];
  return new TextEncoder().encode(`${lines.join('\r\n')}\r\n\r\n`);
}

function warcFields(fields: Array<[string, string | null | undefined]>): Uint8Array {
  const text = fields
    .filter((f): f is [string, string] => f[1] != null && f[1] !== '')
    .map(([k, v]) => `${k}: ${v.replace(/[\r\n]+/g, ' ')}\r\n`)
    .join('');
  return new TextEncoder().encode(text);
}

function exchangeMetadata(ex: RecordedExchange): Uint8Array {
  const tls = ex.tls;
  return warcFields([
    ['exhibit-exchange-id', ex.id],
    ['exhibit-error-code', ex.error?.code],
    ['exhibit-error-message', ex.error?.message],
    ['exhibit-truncated', ex.truncated ? 'true' : null],
    ['exhibit-upstream-proxy', ex.upstreamProxy],
    ['exhibit-dns-host', ex.dns?.host],
    ['exhibit-dns-addresses', ex.dns?.addresses.join(' ')],
    ['exhibit-dns-error', ex.dns?.error],
    ['exhibit-tls-protocol', tls?.protocol],
    ['exhibit-tls-cipher', tls?.cipher],
    ['exhibit-tls-subject', tls?.subject],
    ['exhibit-tls-issuer', tls?.issuer],
    ['exhibit-tls-valid-from', tls?.validFrom],
    ['exhibit-tls-valid-to', tls?.validTo],
    ['exhibit-tls-fingerprint', tls?.fingerprintSha256],
    ['exhibit-tls-authorized', tls ? String(tls.authorized) : null],
    ['exhibit-tls-authorization-error', tls?.authorizationError],
  ]);
}

/** Why a truncated response stopped (WARC 1.1 `WARC-Truncated` values). */
function truncationReason(ex: RecordedExchange): string {
  if (ex.error?.code === 'TOO_LARGE') return 'length';
  if (ex.error?.code === 'TIMEOUT') return 'time';
  return 'disconnect';
}

/**
 * Write `exchanges` (completed ones; in-flight ones are skipped) as a gzipped WARC 1.1 file:
 * `warcinfo`, then per exchange a `request`, a `response` when bytes came back, and a `metadata`
 * record with errors, DNS and TLS facts, all linked by `WARC-Concurrent-To`.
 */
export async function writeWarcFile(filePath: string, exchanges: readonly RecordedExchange[], info: WarcInfo): Promise<{ records: number; bytes: number }> {
  const out = createWriteStream(filePath, { flags: 'wx' });
  const opened = once(out, 'open');
  const failed = once(out, 'error').then(([err]) => Promise.reject(err as Error));
  failed.catch(() => undefined);
  await Promise.race([opened, failed]);
  let records = 0;
  const put = async (record: WARCRecord, block: FileBlock | null) => {
    await Promise.race([emit(out, record, block), failed]);
    records++;
  };

  const infoRecord = WARCRecord.createWARCInfo(
    { filename: path.basename(filePath), warcVersion: WARC_1_1, date: new Date().toISOString() },
    {
      software: info.software,
      format: 'WARC File Format 1.1',
      conformsTo: ISO_28500,
      operator: info.operator,
      'exhibit-capture-id': info.captureId,
      [PAYLOAD_DIGEST_FIELD]: PAYLOAD_DIGEST_AS_RECORDED,
      ...(info.withholdRequestHeaders?.length
        ? { 'exhibit-withheld-request-headers': `${info.withholdRequestHeaders.join(', ')}: values replaced by their length and SHA-256 in request records (collection account credentials); responses are unaltered` }
        : {}),
      ...(info.extra ?? {}),
    },
  );
  infoRecord.warcHeaders.headers.set('WARC-Record-ID', recordId());
  await put(infoRecord, null);

  for (const ex of exchanges) {
    if (ex.completedAt === null) continue;
    const reqId = recordId();
    const resId = recordId();
    const metaId = recordId();
    const hasResponse = ex.rawResponsePath !== null && ex.rawResponseSize > 0;
    const common: Array<[string, string]> = [];
    if (ex.remoteIp) common.push(['WARC-IP-Address', ex.remoteIp]);

    // request: the exact bytes sent upstream, or the request as asked when nothing was sent
    const reqHeaders: Array<[string, string]> = [['WARC-Record-ID', reqId], ...common, ['WARC-Concurrent-To', hasResponse ? resId : metaId]];
    let reqBlock: FileBlock;
    let reqFirstPass: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
    const withheld = ex.rawRequestPath && info.withholdRequestHeaders?.length ? await withheldRequestHead(ex.rawRequestPath, info.withholdRequestHeaders) : null;
    if (ex.rawRequestPath && withheld) {
      const file = ex.rawRequestPath;
      const blockOf = async function* () {
        yield withheld.head;
        yield* createReadStream(file, { start: withheld.end });
      };
      reqHeaders.push(['WARC-Payload-Digest', await payloadDigestOfFile(file)]);
      reqBlock = new FileBlock(blockOf);
      reqFirstPass = blockOf();
    } else if (ex.rawRequestPath) {
      const file = ex.rawRequestPath;
      reqHeaders.push(['WARC-Payload-Digest', await payloadDigestOfFile(file)]);
      reqBlock = new FileBlock(() => createReadStream(file));
      reqFirstPass = createReadStream(file);
    } else {
      const synth = synthesizedRequest(ex, info.withholdRequestHeaders);
      reqHeaders.push(['WARC-Payload-Digest', await payloadDigestOfBytes(synth)]);
      reqBlock = new FileBlock(async function* () {
        yield synth;
      });
      reqFirstPass = [synth];
    }
    await put(makeRecord(ex, 'request', reqHeaders, reqFirstPass), reqBlock);

    if (hasResponse) {
      const file = ex.rawResponsePath!;
      const resHeaders: Array<[string, string]> = [
        ['WARC-Record-ID', resId],
        ...common,
        ['WARC-Concurrent-To', reqId],
        ['WARC-Payload-Digest', await payloadDigestOfFile(file)],
      ];
      if (ex.truncated) resHeaders.push(['WARC-Truncated', truncationReason(ex)]);
      await put(makeRecord(ex, 'response', resHeaders, createReadStream(file)), new FileBlock(() => createReadStream(file)));
    }

    if (ex.error || ex.tls || ex.dns || ex.upstreamProxy) {
      const meta = exchangeMetadata(ex);
      const metaRecord = WARCRecord.create(
        { url: ex.url, date: ex.startedAt, type: 'metadata', warcVersion: WARC_1_1, warcHeaders: [['WARC-Record-ID', metaId], ['WARC-Concurrent-To', hasResponse ? resId : reqId]] },
        [meta],
      );
      await put(metaRecord, null);
    }
  }

  out.end();
  await Promise.race([once(out, 'finish'), failed]);
  const { size } = await stat(filePath);
  return { records, bytes: size };
}

/** A request/response record whose block is raw HTTP bytes (no reparsed HTTP headers). */
function makeRecord(ex: RecordedExchange, type: 'request' | 'response', warcHeaders: Array<[string, string]>, firstPass: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): WARCRecord {
  const record = WARCRecord.create({ url: ex.url, date: ex.startedAt, type, warcVersion: WARC_1_1, warcHeaders }, firstPass);
  // warcio would re-serialise parsed HTTP headers; the block must stay byte-exact, so the whole
  // message is the block (warcio still computes the block digest and Content-Length over it).
  record.httpHeaders = null;
  return record;
}
