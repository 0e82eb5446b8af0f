import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { WARCParser } from 'warcio';
import { describe, expect, it } from 'vitest';
import { httpHeaderEnd, writeWarcFile } from '../../../collectors/browser/warc-writer.js';
import { dechunk } from '../../../lib/http-message.js';
import { python } from '../../support/python.js';
import { exchange } from '../../support/recorded.js';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('httpHeaderEnd (where the WARC payload starts)', () => {
  it('finds the end of a CRLF header block', () => {
    const msg = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi';
    expect(httpHeaderEnd(bytes(msg))).toBe(msg.length - 2);
  });

  it('accepts bare LF line ends, as lenient parsers do', () => {
    const msg = 'HTTP/1.1 200 OK\nA: b\n\nbody';
    expect(httpHeaderEnd(bytes(msg))).toBe(msg.length - 4);
  });

  it('stops at the first empty line (chunked body after it)', () => {
    const msg = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n';
    expect(httpHeaderEnd(bytes(msg))).toBe(msg.indexOf('5\r\n'));
  });

  it('returns null for an incomplete header block', () => {
    expect(httpHeaderEnd(bytes('HTTP/1.1 200 OK\r\nA: b\r\n'))).toBeNull();
    expect(httpHeaderEnd(bytes(''))).toBeNull();
  });
});

describe('writeWarcFile payload digest (as recorded, transfer coding kept: what warcio check verifies)', () => {
  const body = 'hello, chunked world';
  const chunkedBody = '5\r\nhello\r\n2;ext=1\r\n, \r\nD\r\nchunked world\r\n0\r\nX-Trailer: t\r\n\r\n';
  const sha = (algo: string, s: string | Buffer) => createHash(algo).update(s).digest('hex');

  async function recordsOf(file: string): Promise<Map<string, { payload: string; block: string; blockBytes: Buffer }>> {
    const out = new Map<string, { payload: string; block: string; blockBytes: Buffer }>();
    for await (const rec of WARCParser.iterRecords(createReadStream(file), { parseHttp: false })) {
      const blockBytes = Buffer.from(await rec.readFully());
      out.set(rec.warcType, { payload: rec.warcPayloadDigest ?? '', block: rec.warcBlockDigest ?? '', blockBytes });
    }
    return out;
  }

  it('digests a chunked response as recorded (framing kept), the block as received, and Python warcio check passes it', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'warc-writer-'));
    try {
      const raw = `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n${chunkedBody}`;
      await writeFile(path.join(dir, 'res'), raw, 'latin1');
      const ex = exchange({ url: 'http://example.test/c', rawResponsePath: path.join(dir, 'res'), rawResponseSize: raw.length });
      const out = path.join(dir, 'out.warc.gz');
      await writeWarcFile(out, [ex], { software: 'Exhibit test', operator: 'o', captureId: 'c' });
      const res = (await recordsOf(out)).get('response')!;
      expect(res.payload).toBe(`sha256:${sha('sha256', chunkedBody)}`);
      expect(res.payload).not.toBe(`sha256:${sha('sha256', body)}`);
      expect(res.blockBytes.toString('latin1')).toBe(raw); // the block stays as received
      expect(res.block).toBe(`sha256:${sha('sha256', Buffer.from(raw, 'latin1'))}`);
      // the independent checker: exit 0, every digest checked and passed, none failed
      const check = await python('import sys; from warcio.cli import main; sys.exit(main(["check", "-v", sys.argv[1]]))', [out]);
      expect(check).not.toMatch(/fail|not present/i);
      expect(check).toMatch(/ response\n {4}digest pass\n/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('digests a body that is not chunked as it is, and states the digest form in warcinfo', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'warc-writer-'));
    try {
      const raw = `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
      await writeFile(path.join(dir, 'res'), raw, 'latin1');
      const ex = exchange({ url: 'http://example.test/p', rawResponsePath: path.join(dir, 'res'), rawResponseSize: raw.length });
      await writeWarcFile(path.join(dir, 'out.warc.gz'), [ex], { software: 'Exhibit test', operator: 'o', captureId: 'c' });
      const recs = await recordsOf(path.join(dir, 'out.warc.gz'));
      expect(recs.get('response')!.payload).toBe(`sha256:${sha('sha256', body)}`);
      expect(recs.get('warcinfo')!.blockBytes.toString()).toContain('exhibit-payload-digest: as-recorded (transfer coding kept; what warcio check verifies)\r\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('dechunk', () => {
  const run = async (parts: string[]) => {
    const state = { complete: false, malformed: false };
    const chunks: Buffer[] = [];
    for await (const c of dechunk((async function* () { for (const p of parts) yield Buffer.from(p, 'latin1'); })(), state)) chunks.push(Buffer.from(c));
    return { text: Buffer.concat(chunks).toString('latin1'), ...state };
  };
  it('removes framing split at any byte', async () => {
    const whole = '3\r\nabc\r\n1\r\nd\r\n0\r\n\r\n';
    for (let i = 1; i < whole.length; i++) expect(await run([whole.slice(0, i), whole.slice(i)])).toEqual({ text: 'abcd', complete: true, malformed: false });
  });
  it('keeps what arrived of a truncated body', async () => {
    expect(await run(['5\r\nab'])).toEqual({ text: 'ab', complete: false, malformed: false });
  });
  it('passes a body that was never chunked through, flagged', async () => {
    expect(await run(['plain text, no framing'])).toEqual({ text: 'plain text, no framing', complete: false, malformed: true });
  });
});
