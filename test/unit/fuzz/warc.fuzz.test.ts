import { createHash } from 'node:crypto';
import { createReadStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { WARCParser } from 'warcio';
import { afterAll, describe, expect, it } from 'vitest';
import type { RecordedExchange } from '../../../collectors/browser/recorded-exchange.js';
import { httpHeaderEnd, writeWarcFile } from '../../../collectors/browser/warc-writer.js';
import { checkWarc } from '../../../evidence/warc-check.js';
import { fuzzParams, fuzzTimeout } from '../../support/fuzz.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'exhibit-fuzz-warc-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let n = 0;

const token = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/);
const headerValue = fc.stringMatching(/^[\x20-\x7e]{0,40}$/).map((s) => s.trim());
/** An HTTP message as received: a header block (CRLF or bare LF, sometimes none) and any body bytes. */
const httpMessage = (firstLine: fc.Arbitrary<string>) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.tuple(firstLine, fc.array(fc.tuple(token, headerValue), { maxLength: 6 }), fc.constantFrom('\r\n', '\n'), fc.uint8Array({ maxLength: 3000 })).map(([l, hs, eol, body]) => Buffer.concat([Buffer.from([l, ...hs.map(([k, v]) => `${k}: ${v}`)].join(eol) + eol + eol, 'latin1'), body])) },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 2000 }).map((b) => Buffer.from(b)) },
    // chunked: the payload digest covers the framed bytes as recorded (what warcio check verifies)
    {
      weight: 2,
      arbitrary: fc.tuple(firstLine, fc.array(fc.uint8Array({ minLength: 1, maxLength: 700 }), { maxLength: 5 }), fc.boolean()).map(([l, chunks, ext]) => {
        const framed = chunks.map((c) => Buffer.concat([Buffer.from(`${c.length.toString(16)}${ext ? ';x=1' : ''}\r\n`, 'latin1'), c, Buffer.from('\r\n')]));
        return Buffer.concat([Buffer.from(`${l}\r\nTransfer-Encoding: chunked\r\n\r\n`, 'latin1'), ...framed, Buffer.from('0\r\n\r\n')]);
      }),
    },
  );
const statusLine = fc.tuple(fc.integer({ min: 100, max: 599 }), fc.constantFrom('OK', 'Not Found', '', 'Weird Reason')).map(([s, r]) => `HTTP/1.1 ${s} ${r}`.trim());
const requestLine = fc.constantFrom('GET / HTTP/1.1', 'POST /api?x=1 HTTP/1.1', 'GET /a%20b HTTP/1.1');

interface ExchangeSpec {
  url: string;
  request: Buffer | null;
  response: Buffer | null;
  requestHeaders: Array<[string, string]>;
  cookie: string | null;
  truncated: boolean;
  error: boolean;
  inFlight: boolean;
  ip: string | null;
}
const exchangeSpec: fc.Arbitrary<ExchangeSpec> = fc.record({
  // As the proxy records them: absolute URLs in their normalised form.
  url: fc.webUrl({ withQueryParameters: true, withFragments: false }).map((u) => new URL(u).href),
  request: fc.option(httpMessage(requestLine), { nil: null }),
  response: fc.option(httpMessage(statusLine), { nil: null }),
  requestHeaders: fc.array(fc.tuple(token, headerValue), { maxLength: 4 }),
  cookie: fc.option(fc.stringMatching(/^[A-Za-z0-9=;_-]{1,40}$/), { nil: null }),
  truncated: fc.boolean(),
  error: fc.boolean(),
  inFlight: fc.boolean(),
  ip: fc.option(fc.oneof(fc.ipV4(), fc.ipV6()), { nil: null }),
});

function materialise(specs: ExchangeSpec[], dir: string): RecordedExchange[] {
  return specs.map((s, i) => {
    const write = (name: string, b: Buffer) => {
      const p = path.join(dir, `${i}.${name}`);
      writeFileSync(p, b);
      return p;
    };
    // A session cookie in the bytes sent, so withholding it can be checked.
    const request = s.request && s.cookie && httpHeaderEnd(s.request) !== null ? Buffer.concat([Buffer.from(`GET / HTTP/1.1\r\nCookie: ${s.cookie}\r\n`, 'latin1'), s.request.subarray(s.request.indexOf('\n') + 1)]) : s.request;
    return {
      id: `ex-${i}`, startedAt: '2026-01-01T00:00:00.000Z', completedAt: s.inFlight ? null : '2026-01-01T00:00:01.000Z', method: 'GET', url: s.url,
      requestHeaders: s.requestHeaders, rawRequestPath: request ? write('req', request) : null, requestBodyPath: null,
      status: 200, statusText: 'OK', httpVersion: '1.1', responseHeaders: [],
      rawResponsePath: s.response ? write('res', s.response) : null, rawResponseSize: s.response?.length ?? 0, bodyPath: null, bodySize: 0,
      truncated: s.truncated, remoteIp: s.ip, remotePort: 443, tls: null, dns: null, upstreamProxy: null,
      error: s.error ? { code: 'TIMEOUT', message: 'no answer within 10 s' } : null,
    };
  });
}

const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const payloadDigest = (b: Uint8Array) => sha256(Buffer.from(b).subarray(httpHeaderEnd(b) ?? b.length));

describe('fuzz: the WARC writer, read back with warcio', () => {
  it(
    'every completed exchange comes back as request (+ response) (+ metadata) records, response bytes exact, digests right, sessions withheld, size bounded',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(exchangeSpec, { maxLength: 6 }), fc.boolean(), async (specs, withhold) => {
          const d = mkdtempSync(path.join(work, `w-${++n}-`));
          const exchanges = materialise(specs, d);
          const file = path.join(d, 'traffic.warc.gz');
          const written = await writeWarcFile(file, exchanges, { software: 'Exhibit fuzz', operator: 'fuzz', captureId: 'c-1', ...(withhold ? { withholdRequestHeaders: ['cookie'] } : {}) });

          const records: Array<{ type: string; uri: string | null | undefined; block: Uint8Array; payloadDigest: string | null | undefined; truncated: string | null | undefined }> = [];
          for await (const r of WARCParser.iterRecords(createReadStream(file), { parseHttp: false })) {
            records.push({ type: r.warcType, uri: r.warcTargetURI, block: await r.readFully(false), payloadDigest: r.warcPayloadDigest, truncated: r.warcHeader('WARC-Truncated') });
          }
          expect(records.length).toBe(written.records);
          expect(records[0]!.type).toBe('warcinfo');

          let i = 1;
          for (const [k, ex] of exchanges.entries()) {
            if (ex.completedAt === null) continue;
            const req = records[i++]!;
            expect(req.type).toBe('request');
            expect(req.uri).toBe(ex.url);
            expect(req.payloadDigest).toBe(payloadDigest(req.block));
            const sent = specs[k]!;
            if (withhold && ex.rawRequestPath && sent.cookie && httpHeaderEnd(req.block) !== null) expect(Buffer.from(req.block).toString('latin1')).not.toContain(`Cookie: ${sent.cookie}\r`);
            if (!withhold && ex.rawRequestPath) expect(Buffer.from(req.block).equals(readFileSync(ex.rawRequestPath))).toBe(true);
            if (ex.rawResponsePath && ex.rawResponseSize > 0) {
              const res = records[i++]!;
              expect(res.type).toBe('response');
              // The bytes as received, never reparsed or rewritten.
              expect(Buffer.from(res.block).equals(sent.response!)).toBe(true);
              expect(res.payloadDigest).toBe(payloadDigest(sent.response!));
              expect(res.truncated ?? null).toBe(ex.truncated ? (ex.error ? 'time' : 'disconnect') : null);
            }
            if (ex.error) expect(records[i++]!.type).toBe('metadata');
          }
          expect(i).toBe(records.length);
          // The record checker reads back what the writer wrote: every digest and every record end.
          const checked = await checkWarc(file);
          expect(checked.records).toBe(written.records);
          expect(checked.findings.filter((f) => ['structure', 'content-length', 'block-digest', 'payload-digest'].includes(f.check) && f.severity === 'error')).toEqual([]);
          // Bounded: the file is the raw bytes (gzip may add a little per record) plus headers.
          const raw = specs.reduce((s, x) => s + (x.request?.length ?? 0) + (x.response?.length ?? 0) + 200, 0);
          expect(statSync(file).size).toBeLessThan(raw * 1.1 + records.length * 1500 + 2000);
          rmSync(d, { recursive: true, force: true });
        }),
        fuzzParams(60, 3),
      );
    },
    fuzzTimeout(60, 100, 3),
  );
});
