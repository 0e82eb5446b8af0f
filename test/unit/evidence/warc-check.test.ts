import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkWarc, parseWarcDigest } from '../../../evidence/warc-check.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
function base32(bytes: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}
const digest = (algo: string, data: string) => createHash(algo).update(data, 'latin1').digest();

/** A one-record plain WARC, the block given, with the digest header values given. */
function warc(block: string, fields: Record<string, string>, type = 'response'): () => AsyncIterable<Uint8Array> {
  const head = [
    'WARC/1.1',
    `WARC-Type: ${type}`,
    'WARC-Record-ID: <urn:uuid:00000000-0000-4000-8000-000000000001>',
    'WARC-Date: 2026-01-01T00:00:00Z',
    'WARC-Target-URI: http://example.test/',
    'WARC-IP-Address: 192.0.2.1',
    'Content-Type: application/http; msgtype=response',
    ...Object.entries(fields).map(([k, v]) => `${k}: ${v}`),
    `Content-Length: ${Buffer.byteLength(block, 'latin1')}`,
  ].join('\r\n');
  const bytes = Buffer.from(`${head}\r\n\r\n${block}\r\n\r\n`, 'latin1');
  return async function* () {
    // split in odd places, as a stream would
    for (let i = 0; i < bytes.length; i += 7) yield bytes.subarray(i, i + 7);
  };
}

const BODY = '4\r\nabcd\r\n3\r\nefg\r\n0\r\n\r\n';
const BLOCK = `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${BODY}`;

describe('parseWarcDigest', () => {
  it('reads sha1 base32, sha256 base16 and base32, sha512 base16, case-insensitively', () => {
    const d1 = digest('sha1', 'x');
    expect(parseWarcDigest(`sha1:${base32(d1)}`)).toMatchObject({ algo: 'sha1', bytes: d1 });
    expect(parseWarcDigest(`SHA-1:${base32(d1).toLowerCase()}`)).toMatchObject({ algo: 'sha1', bytes: d1 });
    const d256 = digest('sha256', 'x');
    expect(parseWarcDigest(`sha256:${d256.toString('hex')}`)).toMatchObject({ algo: 'sha256', bytes: d256 });
    expect(parseWarcDigest(`sha256:${base32(d256)}`)).toMatchObject({ algo: 'sha256', bytes: d256 });
    const d512 = digest('sha512', 'x');
    expect(parseWarcDigest(`sha512:${d512.toString('hex').toUpperCase()}`)).toMatchObject({ algo: 'sha512', bytes: d512 });
  });
  it('refuses unknown algorithms and values of the wrong length', () => {
    expect(parseWarcDigest('crc32:abcd')).toHaveProperty('error');
    expect(parseWarcDigest(`sha256:${digest('sha1', 'x').toString('hex')}`)).toHaveProperty('error');
    expect(parseWarcDigest('nocolon')).toHaveProperty('error');
  });
});

describe('checkWarc digests', () => {
  it('accepts block and payload digests in every encoding, the payload in either form (as recorded, or de-chunked), naming the form', async () => {
    const bodyAsRecorded = BLOCK.slice(BLOCK.indexOf('\r\n\r\n') + 4);
    for (const [payload, form] of [[bodyAsRecorded, /as recorded \(transfer coding kept/], ['abcdefg', /entity body with the transfer coding removed/]] as const) {
      for (const [algo, enc] of [['sha1', base32], ['sha256', (b: Buffer) => b.toString('hex')], ['sha256', base32], ['sha512', (b: Buffer) => b.toString('hex')]] as const) {
        const r = await checkWarc(warc(BLOCK, { 'WARC-Block-Digest': `${algo}:${enc(digest(algo, BLOCK))}`, 'WARC-Payload-Digest': `${algo}:${enc(digest(algo, payload))}` }));
        const found = r.findings.filter((f) => f.check.includes('digest'));
        expect(found.map((f) => [f.severity, f.check]), `${algo}`).toEqual([['note', 'payload-digest-form']]);
        expect(found[0]!.message).toMatch(form);
        expect(r.ok).toBe(true);
      }
    }
  });
  it('fails a payload digest that matches neither the entity body nor the chunked bytes, naming the record', async () => {
    const r = await checkWarc(warc(BLOCK, { 'WARC-Payload-Digest': `sha256:${digest('sha256', 'abcdefh').toString('hex')}` }), { name: 'x.warc' });
    expect(r.ok).toBe(false);
    expect(r.findings.filter((f) => f.severity === 'error')).toEqual([
      expect.objectContaining({ check: 'payload-digest', file: 'x.warc', offset: 0, recordType: 'response', targetUri: 'http://example.test/' }),
    ]);
  });
  it('an unknown digest algorithm is an error, not a pass', async () => {
    const r = await checkWarc(warc(BLOCK, { 'WARC-Block-Digest': 'crc32:00000000' }));
    expect(r.findings.map((f) => [f.severity, f.check])).toContainEqual(['error', 'block-digest']);
  });
});
