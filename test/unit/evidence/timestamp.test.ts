import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTimestampRequest, requestTimestamp, timestampDigest, tokenCertificates, verifyTimestampToken } from '../../../evidence/timestamp.js';

const run = promisify(execFile);
const FIX = new URL('../../fixtures/tsa/', import.meta.url);

let tsr: Buffer;
let rejected: Buffer;
let ca: string;
let otherCa: string;
let tsaPem: string;
let meta: { digest: string; nonce: string; genTime: string; serialNumber: string; policy: string; tsaName: string };

beforeAll(async () => {
  tsr = await readFile(new URL('granted.tsr', FIX));
  rejected = await readFile(new URL('rejected.tsr', FIX));
  ca = await readFile(new URL('ca.pem', FIX), 'utf8');
  otherCa = await readFile(new URL('other-ca.pem', FIX), 'utf8');
  tsaPem = await readFile(new URL('tsa.pem', FIX), 'utf8');
  meta = JSON.parse(await readFile(new URL('granted.json', FIX), 'utf8'));
});

const reply = (bytes: Buffer, status = 200) => new Response(new Uint8Array(bytes), { status, headers: { 'content-type': 'application/timestamp-reply' } });

describe('verifyTimestampToken (recorded OpenSSL TSA responses)', () => {
  it('accepts the good token and reports its facts', async () => {
    const facts = await verifyTimestampToken(tsr, { digest: meta.digest, trustAnchors: [ca], nonce: meta.nonce, policy: meta.policy });
    expect(facts).toMatchObject({ genTime: meta.genTime, serialNumber: meta.serialNumber, policy: meta.policy, tsaName: meta.tsaName, nonce: meta.nonce });
    expect(facts.signerSubject).toBe('O=Exhibit Test, CN=Exhibit Test TSA');
    expect(facts.signerCertSha256).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('wrong imprint', async () => {
    await expect(verifyTimestampToken(tsr, { digest: `sha256:${'a'.repeat(64)}`, trustAnchors: [ca] })).rejects.toMatchObject({
      name: 'IntegrityError', code: 'TIMESTAMP_INVALID', message: expect.stringMatching(/message imprint mismatch: token covers sha256:61ef.*expected sha256:aaaa/),
    });
  });

  it('wrong nonce', async () => {
    await expect(verifyTimestampToken(tsr, { digest: meta.digest, trustAnchors: [ca], nonce: '0102030405060708' })).rejects.toMatchObject({
      code: 'TIMESTAMP_INVALID', message: 'nonce mismatch: sent 0102030405060708, token has 1122334455667788',
    });
  });

  it('wrong policy', async () => {
    await expect(verifyTimestampToken(tsr, { digest: meta.digest, trustAnchors: [ca], policy: '1.2.3.4' })).rejects.toMatchObject({ code: 'TIMESTAMP_INVALID', message: expect.stringMatching(/policy mismatch/) });
  });

  it('untrusted CA', async () => {
    await expect(verifyTimestampToken(tsr, { digest: meta.digest, trustAnchors: [otherCa] })).rejects.toMatchObject({
      code: 'TIMESTAMP_INVALID', message: expect.stringMatching(/does not chain to a trusted CA/),
    });
  });

  it('no trust anchors at all', async () => {
    await expect(verifyTimestampToken(tsr, { digest: meta.digest, trustAnchors: [] })).rejects.toMatchObject({ message: expect.stringMatching(/no trust anchors/) });
  });

  it('a token whose signature bytes were altered', async () => {
    const bad = Buffer.from(tsr);
    bad[bad.length - 10] = bad[bad.length - 10]! ^ 0x01; // inside the RSA signature value at the end of SignerInfo
    await expect(verifyTimestampToken(bad, { digest: meta.digest, trustAnchors: [ca] })).rejects.toMatchObject({ code: 'TIMESTAMP_INVALID', message: expect.stringMatching(/signature does not verify/) });
  });

  it('a rejection from the TSA is a permanent TIMESTAMP_FAILED with the TSA text', async () => {
    await expect(verifyTimestampToken(rejected, { digest: meta.digest, trustAnchors: [ca] })).rejects.toMatchObject({
      name: 'PermanentError', code: 'TIMESTAMP_FAILED', message: expect.stringMatching(/status 2 \(Requested policy is not supported/),
    });
  });

  it('garbage is TIMESTAMP_INVALID', async () => {
    await expect(verifyTimestampToken(Buffer.from('hello'), { digest: meta.digest, trustAnchors: [ca] })).rejects.toMatchObject({ code: 'TIMESTAMP_INVALID', message: 'not a DER TimeStampResp or TimeStampToken' });
  });

  it('tokenCertificates returns the TSA certificate carried in the token', () => {
    const certs = tokenCertificates(tsr);
    expect(certs.length).toBe(1);
    expect(certs[0]!.replace(/\s/g, '')).toBe(tsaPem.replace(/\s/g, ''));
  });
});

describe('buildTimestampRequest', () => {
  it('is a SHA-256 request with nonce, certReq and policy that openssl reads', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'exhibit-tsq-'));
    try {
      const q = buildTimestampRequest(meta.digest, { nonce: Buffer.from('1122334455667788', 'hex'), policy: '1.2.3.4.5' });
      await writeFile(path.join(dir, 'q.tsq'), q);
      const { stdout } = await run('openssl', ['ts', '-query', '-in', path.join(dir, 'q.tsq'), '-text']);
      expect(stdout).toMatch(/Hash Algorithm: sha256/);
      expect(stdout).toMatch(new RegExp(`Policy OID: 1\\.2\\.3\\.4\\.5`));
      expect(stdout).toMatch(/Nonce: 0x1122334455667788/);
      expect(stdout).toMatch(/Certificate required: yes/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a malformed digest', () => {
    expect(() => buildTimestampRequest('sha256:xyz', { nonce: Buffer.alloc(8, 1) })).toThrow(/expected sha256/);
  });
});

describe('requestTimestamp / timestampDigest (injected fetch, clock, nonce)', () => {
  const base = () => ({ trustAnchors: [ca], randomNonce: () => Buffer.from(meta.nonce, 'hex'), sleep: async () => {} });

  it('accepts a good answer and records genTime, local time and the skew', async () => {
    const local = new Date(new Date(meta.genTime).getTime() + 1234);
    const tok = await requestTimestamp(meta.digest, { url: 'http://tsa.test/' }, { ...base(), clock: { now: () => local }, fetch: (async () => reply(tsr)) as unknown as typeof fetch });
    expect(tok.record).toMatchObject({ genTime: meta.genTime, localTime: local.toISOString(), clockSkewMs: 1234, nonce: meta.nonce, tsaUrl: 'http://tsa.test/', digest: meta.digest });
    expect(tok.tsr.equals(tsr)).toBe(true);
  });

  it('a reply to another nonce is rejected and not retried', async () => {
    let calls = 0;
    const f = (async () => {
      calls++;
      return reply(tsr);
    }) as unknown as typeof fetch;
    await expect(requestTimestamp(meta.digest, { url: 'http://tsa.test/' }, { ...base(), randomNonce: () => Buffer.from('0102030405060708', 'hex'), clock: { now: () => new Date() }, fetch: f })).rejects.toMatchObject({
      name: 'IntegrityError', code: 'TIMESTAMP_INVALID', message: expect.stringMatching(/nonce mismatch/),
    });
    expect(calls).toBe(1);
  });

  it('retries HTTP 503 with exponential backoff, then succeeds', async () => {
    const answers = [reply(Buffer.from('busy'), 503), reply(Buffer.from('busy'), 503), reply(tsr)];
    const sleeps: number[] = [];
    const tok = await requestTimestamp(meta.digest, { url: 'http://tsa.test/' }, {
      ...base(), attempts: 3, backoffMs: 100, sleep: async (ms) => void sleeps.push(ms), clock: { now: () => new Date() },
      fetch: (async () => answers.shift()!) as unknown as typeof fetch,
    });
    expect(tok.record.genTime).toBe(meta.genTime);
    expect(sleeps).toEqual([100, 200]);
  });

  it('TSA down (connection refused) → TransientError TIMESTAMP_FAILED after every attempt', async () => {
    let calls = 0;
    const down = (async () => {
      calls++;
      throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:9' } });
    }) as unknown as typeof fetch;
    await expect(requestTimestamp(meta.digest, { url: 'http://127.0.0.1:9/' }, { ...base(), attempts: 3, clock: { now: () => new Date() }, fetch: down })).rejects.toMatchObject({
      name: 'TransientError', code: 'TIMESTAMP_FAILED', message: expect.stringMatching(/TSA http:\/\/127\.0\.0\.1:9\/ unreachable: ECONNREFUSED/),
    });
    expect(calls).toBe(3);
  });

  it('HTTP 400 is permanent (no retry)', async () => {
    let calls = 0;
    const f = (async () => {
      calls++;
      return reply(Buffer.from('no'), 400);
    }) as unknown as typeof fetch;
    await expect(requestTimestamp(meta.digest, { url: 'http://tsa.test/' }, { ...base(), clock: { now: () => new Date() }, fetch: f })).rejects.toMatchObject({ name: 'PermanentError', code: 'TIMESTAMP_FAILED' });
    expect(calls).toBe(1);
  });

  it('timestampDigest keeps tokens from every TSA that answered and lists the failures', async () => {
    const f = (async (url: string) => (url.includes('good') ? reply(tsr) : reply(Buffer.from(''), 502))) as unknown as typeof fetch;
    const out = await timestampDigest(meta.digest, [{ url: 'http://good.test/' }, { url: 'http://bad.test/' }, { url: 'http://good2.test/' }], { ...base(), attempts: 2, clock: { now: () => new Date() }, fetch: f });
    expect(out.tokens.map((t) => t.record.tsaUrl)).toEqual(['http://good.test/', 'http://good2.test/']);
    expect(out.failures).toEqual([{ tsaUrl: 'http://bad.test/', failure: { code: 'TIMESTAMP_FAILED', kind: 'transient', message: 'TSA http://bad.test/ answered HTTP 502' } }]);
  });
});
