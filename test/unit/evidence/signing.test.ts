import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsStore } from '../../../evidence/fs-store.js';
import { KeyStore } from '../../../evidence/keys.js';
import { attestManifest, readSealRecords, sealRecordKeys, signatureBytes, signDigest, verifySignatureRecord } from '../../../evidence/signing.js';

const run = promisify(execFile);
const clock = { now: () => new Date('2026-03-01T10:00:00.000Z') };
const FIX = new URL('../../fixtures/tsa/', import.meta.url);

describe('Ed25519 signing over the SHA-256 of canonical bytes', () => {
  let dir: string;
  let keys: KeyStore;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'exhibit-sign-'));
    keys = new KeyStore(path.join(dir, 'keys'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const manifestBytes = Buffer.from('{"a":"بيان","schemaVersion":"x"}');
  const digest = `sha256:${createHash('sha256').update(manifestBytes).digest('hex')}`;

  it('signs and verifies; the record names key and digest', async () => {
    const key = await keys.activeKey();
    const rec = signDigest(digest, key, clock);
    expect(rec).toMatchObject({ schemaVersion: 'exhibit.signature/1', algorithm: 'Ed25519', keyFingerprint: key.fingerprint, signedDigest: digest, signedAt: '2026-03-01T10:00:00.000Z' });
    expect(signatureBytes(rec).length).toBe(64);
    const pem = (await keys.publicKey(key.fingerprint))!.pem;
    expect(() => verifySignatureRecord(rec, { digest, publicKeyPem: pem })).not.toThrow();
  });

  it('the exact openssl commands from VERIFY.txt accept the signature', async () => {
    const key = await keys.activeKey();
    const rec = signDigest(digest, key, clock);
    await writeFile(path.join(dir, 'manifest.json'), manifestBytes);
    await writeFile(path.join(dir, 'manifest.sig'), signatureBytes(rec));
    await writeFile(path.join(dir, 'key.pem'), (await keys.publicKey(key.fingerprint))!.pem);
    await run('openssl', ['dgst', '-sha256', '-binary', '-out', 'manifest.sha256.bin', 'manifest.json'], { cwd: dir });
    const { stdout } = await run('bash', ['-c', 'openssl dgst -sha256 -binary manifest.json > manifest.sha256.bin && openssl pkeyutl -verify -pubin -inkey key.pem -rawin -in manifest.sha256.bin -sigfile manifest.sig'], { cwd: dir });
    expect(stdout).toMatch(/Signature Verified Successfully/);
    // And openssl rejects a signature over other bytes.
    await writeFile(path.join(dir, 'manifest.json'), Buffer.concat([manifestBytes, Buffer.from(' ')]));
    await expect(run('bash', ['-c', 'openssl dgst -sha256 -binary manifest.json > manifest.sha256.bin && openssl pkeyutl -verify -pubin -inkey key.pem -rawin -in manifest.sha256.bin -sigfile manifest.sig'], { cwd: dir })).rejects.toThrow();
  });

  it('names what is wrong: other digest, other key, altered signature', async () => {
    const key = await keys.activeKey();
    const rec = signDigest(digest, key, clock);
    const pem = (await keys.publicKey(key.fingerprint))!.pem;
    const other = `sha256:${'0'.repeat(64)}`;
    expect(() => verifySignatureRecord(rec, { digest: other, publicKeyPem: pem })).toThrow(/signature covers sha256:.* but the bytes hash to sha256:0000/);
    const rotated = await keys.rotateKey();
    const otherPem = (await keys.publicKey(rotated.fingerprint))!.pem;
    expect(() => verifySignatureRecord(rec, { digest, publicKeyPem: otherPem })).toThrow(/names key/);
    const sig = signatureBytes(rec);
    sig[10] = sig[10]! ^ 1;
    expect(() => verifySignatureRecord({ ...rec, signature: sig.toString('base64') }, { digest, publicKeyPem: pem })).toThrow(expect.objectContaining({ code: 'SIGNATURE_INVALID', message: expect.stringMatching(/does not verify/) }));
  });

  describe('attestManifest (recorded TSA answers, no network)', () => {
    it('stores signature and token records beside the manifest; a rerun asks no TSA', async () => {
      const store = await FsStore.open(path.join(dir, 'store'));
      const meta = JSON.parse(await readFile(new URL('granted.json', FIX), 'utf8'));
      const tsr = await readFile(new URL('granted.tsr', FIX));
      const ca = await readFile(new URL('ca.pem', FIX), 'utf8');
      let calls = 0;
      const fakeFetch = (async () => {
        calls++;
        return new Response(new Uint8Array(tsr), { status: 200, headers: { 'content-type': 'application/timestamp-reply' } });
      }) as unknown as typeof fetch;
      const deps = { store, keys, clock, tsas: [{ url: 'http://tsa.invalid/' }], timestamp: { trustAnchors: [ca], fetch: fakeFetch, randomNonce: () => Buffer.from(meta.nonce, 'hex') } };
      const caseId = 'C-1';
      const captureId = '0190f5d6-0000-7000-8000-000000000001';
      const res = await attestManifest(caseId, captureId, meta.digest, deps);
      expect(res.sealed).toBe(true);
      expect(res.timestamps[0]).toMatchObject({ genTime: meta.genTime, digest: meta.digest, token: '1.tsr', tsaUrl: 'http://tsa.invalid/' });
      expect((await store.getBytes(sealRecordKeys.timestampToken(caseId, captureId, 1))).equals(tsr)).toBe(true);
      const again = await attestManifest(caseId, captureId, meta.digest, deps);
      expect(calls).toBe(1);
      expect(again.signature).toEqual(res.signature);
      const read = await readSealRecords(store, caseId, captureId);
      expect(read.timestamps.length).toBe(1);
      // A different digest for the same capture is refused.
      await expect(attestManifest(caseId, captureId, `sha256:${'1'.repeat(64)}`, deps)).rejects.toMatchObject({ code: 'SIGNATURE_INVALID' });
    });

    it('no TSA answering leaves the capture signed but unsealed, with the reasons', async () => {
      const store = await FsStore.open(path.join(dir, 'store'));
      const down = (async () => {
        throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
      }) as unknown as typeof fetch;
      const res = await attestManifest('C-1', '0190f5d6-0000-7000-8000-000000000002', digest, {
        store, keys, clock, tsas: [{ url: 'http://a.invalid/' }, { url: 'http://b.invalid/' }],
        timestamp: { trustAnchors: ['x'], fetch: down, attempts: 2, sleep: async () => {} },
      });
      expect(res.sealed).toBe(false);
      expect(res.timestamps).toEqual([]);
      expect(res.timestampFailures.map((f) => f.failure.code)).toEqual(['TIMESTAMP_FAILED', 'TIMESTAMP_FAILED']);
      expect(res.timestampFailures[0]!.failure.message).toMatch(/unreachable: ECONNREFUSED/);
    });
  });
});
