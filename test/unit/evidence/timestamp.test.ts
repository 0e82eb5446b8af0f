import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as pkijs from 'pkijs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildTimestampRequest, parseCertificates, readCertificates, requestTimestamp, timestampDigest, tokenCertificates, verifyTimestampToken, type VerifyTimestampOptions,
} from '../../../evidence/timestamp.js';
import { createTsaSigner, type TsaReplyOptions, type TsaSigner } from '../../support/tsa.js';

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

// Tokens made by real OpenSSL TSAs in each configuration real authorities use, each result checked
// against `openssl ts -verify` on the same bytes (agreement both ways).
describe('verifyTimestampToken on tokens from OpenSSL TSAs, agreeing with `openssl ts -verify`', () => {
  const DATA = Buffer.from('an artifact from a case file\n');
  let signer: TsaSigner;
  let work: string;
  let dataFile: string;
  let caPem: string;
  let interPem: string;
  let tsaCertPem: string;
  let spoofSameSubject: pkijs.Certificate;
  let spoofSameIssuerSerial: pkijs.Certificate;
  let n = 0;

  const sh = async (args: string[]) => (await run('openssl', args, { cwd: work })).stdout;
  const pemFile = async (name: string, ...pems: string[]) => {
    const f = path.join(work, name);
    await writeFile(f, pems.join(''));
    return f;
  };
  /** `openssl ts -verify` on the same bytes; `untrusted` joined into one -untrusted file. */
  const opensslVerify = async (tsr: Buffer, o: { ca?: string; untrusted?: string[]; tokenIn?: boolean; attime?: string; data?: string } = {}) => {
    const f = path.join(work, `v-${++n}.tsr`);
    await writeFile(f, tsr);
    const args = ['ts', '-verify', '-data', o.data ?? dataFile, ...(o.tokenIn ? ['-token_in'] : []), '-in', f, '-CAfile', o.ca ?? signer.caCertPath];
    if (o.untrusted?.length) args.push('-untrusted', await pemFile(`u-${n}.pem`, ...o.untrusted));
    if (o.attime) args.push('-attime', String(Math.floor(new Date(o.attime).getTime() / 1000)));
    try {
      const { stdout, stderr } = await run('openssl', args, { cwd: work });
      return { ok: /Verification: OK/.test(stdout), output: stdout + stderr };
    } catch (e) {
      const x = e as { stdout?: string; stderr?: string };
      return { ok: false, output: `${x.stdout ?? ''}${x.stderr ?? ''}` };
    }
  };
  const ours = async (tsr: Buffer, o: Partial<VerifyTimestampOptions> = {}) => {
    try {
      return { ok: true as const, facts: await verifyTimestampToken(tsr, { data: DATA, trustAnchors: [caPem], ...o }) };
    } catch (e) {
      return { ok: false as const, error: e as Error & { code?: string } };
    }
  };
  /** Rebuild the token with another certificate set (the signed part is untouched). */
  const withCertificates = (tsr: Buffer, f: (certs: pkijs.Certificate[]) => pkijs.Certificate[]): Buffer => {
    const resp = pkijs.TimeStampResp.fromBER(new Uint8Array(tsr));
    const signed = new pkijs.SignedData({ schema: resp.timeStampToken!.content });
    const certs = f((signed.certificates ?? []).filter((c): c is pkijs.Certificate => c instanceof pkijs.Certificate));
    if (certs.length) signed.certificates = certs;
    else delete signed.certificates;
    resp.timeStampToken = new pkijs.ContentInfo({ contentType: pkijs.ContentInfo.SIGNED_DATA, content: signed.toSchema(true) });
    return Buffer.from(resp.toSchema().toBER(false));
  };

  beforeAll(async () => {
    signer = await createTsaSigner({ intermediate: true });
    work = await mkdtemp(path.join(os.tmpdir(), 'exhibit-tsv-'));
    dataFile = path.join(work, 'artifact.bin');
    await writeFile(dataFile, DATA);
    caPem = signer.caCertPem;
    interPem = await readFile(signer.intermediateCertPath!, 'utf8');
    tsaCertPem = await readFile(signer.tsaCertPath, 'utf8');
    // Look-alikes of the TSA certificate: same subject and a new key; and the same issuer name and
    // serial too, made by a CA that copies the real intermediate's name.
    await sh(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 's1.key', '-out', 's1.pem', '-days', '3650', '-subj', '/O=Exhibit Test/CN=Exhibit Test TSA', '-addext', 'extendedKeyUsage=critical,timeStamping']);
    await sh(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'fake.key', '-out', 'fake.pem', '-days', '3650', '-subj', '/O=Exhibit Test/CN=Exhibit Test TSA CA Intermediate', '-addext', 'basicConstraints=critical,CA:TRUE']);
    await sh(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 's2.key', '-out', 's2.csr', '-subj', '/O=Exhibit Test/CN=Exhibit Test TSA']);
    const serial = (await sh(['x509', '-in', signer.tsaCertPath, '-noout', '-serial'])).trim().split('=')[1]!;
    await writeFile(path.join(work, 'eku.ext'), 'extendedKeyUsage=critical,timeStamping\n');
    await sh(['x509', '-req', '-in', 's2.csr', '-CA', 'fake.pem', '-CAkey', 'fake.key', '-set_serial', `0x${serial}`, '-out', 's2.pem', '-days', '3650', '-extfile', 'eku.ext']);
    spoofSameSubject = parseCertificates(await readFile(path.join(work, 's1.pem'), 'utf8'))[0]!;
    spoofSameIssuerSerial = parseCertificates(await readFile(path.join(work, 's2.pem'), 'utf8'))[0]!;
  }, 60_000);
  afterAll(async () => {
    await signer?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  for (const alg of ['sha256', 'sha384', 'sha512'] as const) {
    it(`${alg} message imprint and ${alg} signer digest, certificates in the token: verified by both, facts name the algorithm`, async () => {
      const tsr = await signer.stamp(DATA, { imprint: alg, signerDigest: alg, includeChain: true });
      const [a, b] = [await ours(tsr), await opensslVerify(tsr)];
      expect(b.ok, b.output).toBe(true);
      expect(a.ok && a.facts).toMatchObject({
        imprintAlgorithm: alg,
        messageImprint: `${alg}:${createHash(alg).update(DATA).digest('hex')}`,
        anchored: true,
        signerSubject: 'O=Exhibit Test, CN=Exhibit Test TSA',
        signerIdentifiedBy: { attribute: 'ESSCertIDv2', hashAlgorithm: 'sha256' },
        expiredSinceGenTime: false,
        ignoredCertificates: [],
      });
      if (!a.ok) return;
      expect(a.facts.chain.map((c) => [c.subject, c.origin])).toEqual([
        ['O=Exhibit Test, CN=Exhibit Test TSA', 'token'],
        ['O=Exhibit Test, CN=Exhibit Test TSA CA Intermediate', 'token'],
        ['O=Exhibit Test, CN=Exhibit Test TSA CA', 'anchor'],
      ]);
      // The same token against the digest instead of the bytes, and against a stream of chunks.
      const hexDigest = createHash(alg).update(DATA).digest('hex');
      await expect(verifyTimestampToken(tsr, { digests: { [alg]: hexDigest }, trustAnchors: [caPem] })).resolves.toMatchObject({ imprintAlgorithm: alg });
      await expect(verifyTimestampToken(tsr, { digest: `${alg}:${hexDigest}`, trustAnchors: [caPem] })).resolves.toMatchObject({ imprintAlgorithm: alg });
      const chunks = async function* () {
        yield DATA.subarray(0, 5);
        yield DATA.subarray(5);
      };
      await expect(verifyTimestampToken(tsr, { data: chunks, trustAnchors: [caPem] })).resolves.toMatchObject({ imprintAlgorithm: alg });
      // Other bytes: both refuse.
      const other = await ours(tsr, { data: Buffer.from('another artifact\n') });
      expect(other.ok ? null : other.error.message).toMatch(new RegExp(`message imprint mismatch: token covers ${alg}:`));
      expect((await opensslVerify(tsr, { data: await pemFile(`other-${alg}.bin`, 'another artifact\n') })).ok).toBe(false);
    });
  }

  it('a SHA-384 token checked with only a SHA-256 digest is refused with what to give instead, never passed', async () => {
    const tsr = await signer.stamp(DATA, { imprint: 'sha384' });
    await expect(verifyTimestampToken(tsr, { digest: `sha256:${createHash('sha256').update(DATA).digest('hex')}`, trustAnchors: [caPem] })).rejects.toMatchObject({
      code: 'TIMESTAMP_INVALID', message: expect.stringMatching(/token imprint is sha384, but only a sha256 digest of the artifact was given/),
    });
    await expect(verifyTimestampToken(tsr, { data: DATA, trustAnchors: [caPem], imprintAlgorithms: ['sha256'] })).rejects.toMatchObject({ message: 'imprint algorithm sha384 is not one of sha256' });
  });

  it('ESS signing-certificate v1 (SHA-1 id) and v2 with a SHA-512 id both name the signer', async () => {
    const v1 = await signer.stamp(DATA, { essCertIdAlg: 'sha1', signerDigest: 'sha384', imprint: 'sha512' });
    const v2 = await signer.stamp(DATA, { essCertIdAlg: 'sha512', essCertIdChain: true, includeChain: true });
    for (const [tsr, attribute, hashAlgorithm] of [[v1, 'ESSCertID', 'sha1'], [v2, 'ESSCertIDv2', 'sha512']] as const) {
      const [a, b] = [await ours(tsr, { untrusted: [interPem] }), await opensslVerify(tsr, { untrusted: [interPem] })];
      expect(b.ok, b.output).toBe(true);
      expect(a.ok && a.facts.signerIdentifiedBy).toEqual({ attribute, hashAlgorithm, issuerSerial: false });
    }
  });

  it('a token without certificates verifies with the chain supplied, and by neither without it', async () => {
    const tsr = await signer.stamp(DATA, { certReq: false, imprint: 'sha384' });
    expect(tokenCertificates(tsr)).toEqual([]);
    const bare = [await ours(tsr), await opensslVerify(tsr)];
    expect(bare.map((r) => r.ok)).toEqual([false, false]);
    expect(bare[0]!.ok ? null : (bare[0] as { error: Error }).error.message).toMatch(/carries no certificates and none were supplied/);
    const [a, b] = [await ours(tsr, { untrusted: [tsaCertPem, interPem] }), await opensslVerify(tsr, { untrusted: [tsaCertPem, interPem] })];
    expect(b.ok, b.output).toBe(true);
    expect(a.ok && a.facts.chain.map((c) => c.origin)).toEqual(['untrusted', 'untrusted', 'anchor']);
    // Only the TSA certificate, not its CA: no path to the root, for both.
    const half = [await ours(tsr, { untrusted: [tsaCertPem] }), await opensslVerify(tsr, { untrusted: [tsaCertPem] })];
    expect(half.map((r) => r.ok)).toEqual([false, false]);
  });

  it("Exhibit's own client against the OpenSSL TSA: a token with the certificate is accepted; a TSA that ignores certReq gives a token that cannot be checked without its certificate", async () => {
    const via = (o: TsaReplyOptions) => (async (_url: string, init: { body: Uint8Array }) => new Response(new Uint8Array(await signer.reply(Buffer.from(init.body), o)), { status: 200 })) as unknown as typeof fetch;
    const digest = `sha256:${createHash('sha256').update(DATA).digest('hex')}`;
    const deps = { trustAnchors: [caPem, interPem], clock: { now: () => new Date() }, sleep: async () => {} };
    const tok = await requestTimestamp(digest, { url: 'http://tsa.test/' }, { ...deps, fetch: via({}) });
    expect(tok.record).toMatchObject({ digest, signerSubject: 'O=Exhibit Test, CN=Exhibit Test TSA' });
    expect(tokenCertificates(tok.tsr)).toHaveLength(1);
    await expect(requestTimestamp(digest, { url: 'http://tsa.test/' }, { ...deps, fetch: via({ omitCertificates: true }) })).rejects.toMatchObject({
      code: 'TIMESTAMP_INVALID', message: expect.stringMatching(/carries no certificates/),
    });
  });

  it('trust anchors and chain certificates in DER work like PEM', async () => {
    const tsr = await signer.stamp(DATA, { certReq: false });
    const der = (pem: string) => Buffer.from(pem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
    const a = await ours(tsr, { trustAnchors: [der(caPem)], untrusted: [der(tsaCertPem), Buffer.from(interPem)] });
    expect(a.ok && a.facts.anchored).toBe(true);
    expect(readCertificates(der(caPem))).toHaveLength(1);
    expect(readCertificates(Buffer.from(caPem + interPem))).toHaveLength(2);
    expect(() => readCertificates(Buffer.from('not a certificate'), 'ca.txt')).toThrow(/ca\.txt holds no PEM or DER certificate/);
  });

  it('pinning the TSA certificate itself, or the intermediate, that the token also carries: verified, the pinned one is the anchor (OpenSSL agrees with -partial_chain)', async () => {
    const tsr = await signer.stamp(DATA, { includeChain: true });
    for (const [pin, chain] of [[tsaCertPem, ['anchor']], [interPem, ['token', 'anchor']]] as const) {
      const a = await ours(tsr, { trustAnchors: [pin] });
      expect(a.ok, a.ok ? '' : a.error.message).toBe(true);
      expect(a.ok && a.facts.chain.map((c) => c.origin)).toEqual(chain);
      const f = path.join(work, `pin-${++n}.tsr`);
      await writeFile(f, tsr);
      const b = await run('openssl', ['ts', '-verify', '-partial_chain', '-data', dataFile, '-in', f, '-CAfile', await pemFile(`pin-${n}.pem`, pin)]).then((r) => r.stdout, () => '');
      expect(b).toMatch(/Verification: OK/);
    }
  });

  it('a bare TimeStampToken (ContentInfo, `-token_out`) verifies like the whole response', async () => {
    const tsr = await signer.stamp(DATA, { imprint: 'sha512', includeChain: true });
    const f = path.join(work, 'whole.tsr');
    await writeFile(f, tsr);
    await sh(['ts', '-reply', '-in', f, '-token_out', '-out', 'bare.tst']);
    const token = await readFile(path.join(work, 'bare.tst'));
    const [a, b] = [await ours(token), await opensslVerify(token, { tokenIn: true })];
    expect(b.ok, b.output).toBe(true);
    expect(a.ok && a.facts).toMatchObject({ tokenForm: 'TimeStampToken', imprintAlgorithm: 'sha512' });
    const whole = await ours(tsr);
    expect(whole.ok && whole.facts.tokenForm).toBe('TimeStampResp');
  });

  it('re-encoding the certificate set unchanged keeps the token valid (so the injections below test only the injection)', async () => {
    const tsr = await signer.stamp(DATA, { includeChain: true });
    const same = withCertificates(tsr, (c) => c);
    expect([(await ours(same)).ok, (await opensslVerify(same)).ok]).toEqual([true, true]);
  });

  it('a look-alike certificate (same subject, other key) placed first is ignored; the real signer is named', async () => {
    const tsr = withCertificates(await signer.stamp(DATA, { includeChain: true }), (c) => [spoofSameSubject, ...c]);
    const [a, b] = [await ours(tsr), await opensslVerify(tsr)];
    expect(b.ok, b.output).toBe(true);
    expect(a.ok, a.ok ? '' : a.error.message).toBe(true);
    if (!a.ok) return;
    expect(a.facts.signerCertSha256).toBe(`sha256:${createHash('sha256').update(Buffer.from(tsaCertPem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64')).digest('hex')}`);
    expect(a.facts.chain[0]!.sha256).toBe(a.facts.signerCertSha256);
    expect(a.facts.ignoredCertificates.map((c) => c.sha256)).toEqual([`sha256:${createHash('sha256').update(Buffer.from(spoofSameSubject.toSchema().toBER(false))).digest('hex')}`]);
  });

  it('a look-alike with the same issuer name and serial placed first: found by the ESS hash, not by issuer+serial (OpenSSL picks the first match unless given the real certificate)', async () => {
    const tsr = withCertificates(await signer.stamp(DATA, { includeChain: true }), (c) => [spoofSameIssuerSerial, ...c]);
    const a = await ours(tsr);
    expect(a.ok, a.ok ? '' : a.error.message).toBe(true);
    expect(a.ok && a.facts.ignoredCertificates).toHaveLength(1);
    expect(a.ok && a.facts.chain.map((c) => c.subject)).toEqual(['O=Exhibit Test, CN=Exhibit Test TSA', 'O=Exhibit Test, CN=Exhibit Test TSA CA Intermediate', 'O=Exhibit Test, CN=Exhibit Test TSA CA']);
    // OpenSSL looks the signer up by issuer+serial and takes the first match: the look-alike.
    const fooled = await opensslVerify(tsr);
    expect(fooled.ok).toBe(false);
    // Given the real certificate, which it searches first, OpenSSL agrees the token is good.
    const told = await opensslVerify(tsr, { untrusted: [tsaCertPem] });
    expect(told.ok, told.output).toBe(true);
  });

  it('a token whose only certificate is a look-alike: the signer is unknown, for both', async () => {
    const tsr = withCertificates(await signer.stamp(DATA), () => [spoofSameSubject]);
    const [a, b] = [await ours(tsr, { untrusted: [interPem] }), await opensslVerify(tsr, { untrusted: [interPem] })];
    expect([a.ok, b.ok]).toEqual([false, false]);
    expect(a.ok ? null : a.error.message).toMatch(/no certificate in the token or supplied matches the ESS signing-certificate attribute/);
  });

  it('a tampered signature is refused by both', async () => {
    const tsr = await signer.stamp(DATA, { imprint: 'sha384', includeChain: true });
    const resp = pkijs.TimeStampResp.fromBER(new Uint8Array(tsr));
    const sig = Buffer.from(new pkijs.SignedData({ schema: resp.timeStampToken!.content }).signerInfos[0]!.signature.valueBlock.valueHexView);
    const at = tsr.indexOf(sig);
    expect(at).toBeGreaterThan(0);
    const bad = Buffer.from(tsr);
    bad[at + 20] = bad[at + 20]! ^ 0x40;
    const [a, b] = [await ours(bad), await opensslVerify(bad)];
    expect([a.ok, b.ok]).toEqual([false, false]);
    expect(a.ok ? null : a.error).toMatchObject({ code: 'TIMESTAMP_INVALID', message: 'token signature does not verify' });
  });

  it('another CA pinned: refused by both', async () => {
    const tsr = await signer.stamp(DATA, { includeChain: true });
    const otherCaPath = await pemFile('other-ca.pem', otherCa);
    const [a, b] = [await ours(tsr, { trustAnchors: [otherCa] }), await opensslVerify(tsr, { ca: otherCaPath })];
    expect([a.ok, b.ok]).toEqual([false, false]);
    expect(a.ok ? null : a.error.message).toMatch(/does not chain to a trusted CA at genTime/);
  });

  it('without an anchor (allowUnanchored) the token is checked but reported as not anchored', async () => {
    const tsr = await signer.stamp(DATA, { includeChain: true });
    const a = await ours(tsr, { trustAnchors: [], allowUnanchored: true });
    expect(a.ok && a.facts.anchored).toBe(false);
    expect(a.ok && a.facts.chain.map((c) => c.origin)).toEqual(['token', 'token']);
    const bad = await ours(tsr, { trustAnchors: [], allowUnanchored: true, data: Buffer.from('x') });
    expect(bad.ok).toBe(false);
  });

  it('a TSA certificate that has expired since genTime still vouches for the token, and the facts say so (recorded fixture; OpenSSL agrees at -attime genTime)', async () => {
    const EXP = new URL('../../fixtures/tsa/expired/', import.meta.url);
    const tsr = await readFile(new URL('token.tsr', EXP));
    const data = await readFile(new URL('data.txt', EXP));
    const ca = await readFile(new URL('ca.pem', EXP), 'utf8');
    const tsaCert = parseCertificates(await readFile(new URL('tsa.pem', EXP), 'utf8'))[0]!;
    expect(tsaCert.notAfter.value.getTime()).toBeLessThan(Date.now()); // expired now, for good
    const facts = await verifyTimestampToken(tsr, { data, trustAnchors: [ca] });
    expect(new Date(facts.genTime).getTime()).toBeLessThan(tsaCert.notAfter.value.getTime());
    expect(facts).toMatchObject({ expiredSinceGenTime: true, chainValidatedAt: facts.genTime, anchored: true });
    expect(facts.chain[0]).toMatchObject({ subject: 'O=Exhibit Test, CN=Exhibit Test TSA', expiredSince: true });
    expect(facts.chain[1]).toMatchObject({ origin: 'anchor', expiredSince: false });
    // As of a time before expiry, nothing is reported expired.
    expect((await verifyTimestampToken(tsr, { data, trustAnchors: [ca], now: new Date(facts.genTime) })).expiredSinceGenTime).toBe(false);
    const caPath = fileURLToPath(new URL('ca.pem', EXP));
    const dataPath = fileURLToPath(new URL('data.txt', EXP));
    const now = await opensslVerify(tsr, { ca: caPath, data: dataPath });
    expect(now.ok).toBe(false);
    expect(now.output).toMatch(/certificate has expired/);
    const then = await opensslVerify(tsr, { ca: caPath, data: dataPath, attime: facts.genTime });
    expect(then.ok, then.output).toBe(true);
  });

  it('a token issued after its TSA certificate expired is refused by both', async () => {
    const past = await createTsaSigner({ tsaValidity: { start: '20200101000000Z', end: '20210101000000Z' } });
    try {
      const tsr = await past.stamp(DATA);
      const [a, b] = [await ours(tsr, { trustAnchors: [past.caCertPem] }), await opensslVerify(tsr, { ca: past.caCertPath })];
      expect([a.ok, b.ok]).toEqual([false, false]);
      expect(a.ok ? null : a.error.message).toMatch(/TSA certificate was not valid at genTime .* \(valid 2020-01-01T00:00:00\.000Z to 2021-01-01T00:00:00\.000Z\)/);
    } finally {
      await past.close();
    }
  });
});

// Tokens real authorities issued (see test/fixtures/tsa/README.md for where each comes from).
describe('verifyTimestampToken on tokens from real TSAs', () => {
  const REAL = new URL('../../fixtures/tsa/real/', import.meta.url);
  const file = (name: string) => fileURLToPath(new URL(name, REAL));
  const openssl = async (args: string[]) => run('openssl', args).then(
    (r) => ({ ok: /Verification: OK/.test(r.stdout), output: r.stdout + r.stderr }),
    (e: { stdout?: string; stderr?: string }) => ({ ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` }),
  );

  it('DigiCert (2018; ESSCertID v1, chain in the token) verifies to the DigiCert Assured ID Root CA, as OpenSSL agrees', async () => {
    const tsr = await readFile(file('digicert-2018.tsr'));
    const root = await readFile(file('digicert-assured-id-root-ca.pem'));
    const facts = await verifyTimestampToken(tsr, { data: await readFile(file('hello.txt')), trustAnchors: [root] });
    expect(facts).toMatchObject({
      genTime: '2018-05-09T18:48:18.000Z', policy: '2.16.840.1.114412.7.1', serialNumber: '2f6487c3b05baad0646a567f56bb623c', imprintAlgorithm: 'sha256',
      signerSubject: 'C=US, O=DigiCert, CN=DigiCert SHA2 Timestamp Responder', signerIdentifiedBy: { attribute: 'ESSCertID', hashAlgorithm: 'sha1', issuerSerial: false }, anchored: true,
    });
    expect(facts.chain.map((c) => c.origin)).toEqual(['token', 'token', 'anchor']);
    const ok = await openssl(['ts', '-verify', '-data', file('hello.txt'), '-in', file('digicert-2018.tsr'), '-CAfile', file('digicert-assured-id-root-ca.pem')]);
    expect(ok.ok, ok.output).toBe(true);
    // Another file, or another root: refused by both.
    await expect(verifyTimestampToken(tsr, { data: Buffer.from('hello'), trustAnchors: [root] })).rejects.toMatchObject({ message: expect.stringMatching(/message imprint mismatch/) });
    await expect(verifyTimestampToken(tsr, { data: await readFile(file('hello.txt')), trustAnchors: [ca] })).rejects.toMatchObject({ message: expect.stringMatching(/does not chain to a trusted CA/) });
    expect((await openssl(['ts', '-verify', '-data', fileURLToPath(new URL('../granted.json', REAL)), '-in', file('digicert-2018.tsr'), '-CAfile', file('digicert-assured-id-root-ca.pem')])).ok).toBe(false);
  });

  it('GlobalSign (2018; SHA-1 signer digest, ESSCertID with issuer and serial, no certificates): the signer is unknown until its certificate is given, for both', async () => {
    const tsr = await readFile(file('globalsign-2018-nocerts.tsr'));
    await expect(verifyTimestampToken(tsr, { data: await readFile(file('hello.txt')), trustAnchors: [ca] })).rejects.toMatchObject({
      code: 'TIMESTAMP_INVALID', message: expect.stringMatching(/the token carries no certificates and none were supplied/),
    });
    const r = await openssl(['ts', '-verify', '-data', file('hello.txt'), '-in', file('globalsign-2018-nocerts.tsr'), '-CAfile', fileURLToPath(new URL('../ca.pem', REAL))]);
    expect(r.ok).toBe(false);
    expect(r.output).toMatch(/signer certificate not found/);
  });
});
