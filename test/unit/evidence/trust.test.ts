import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyFingerprint } from '../../../evidence/keys.js';
import { caAnchorsFromFile, flagAnchors, localAnchors, parseCaCertificates, signingKeyFingerprint, TrustStore } from '../../../evidence/trust.js';

const caPath = new URL('../../fixtures/tsa/ca.pem', import.meta.url).pathname;

describe('trust anchors and the local trust store', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'exhibit-trust-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('a TSA root reads the same from PEM and DER; its fingerprint is the SHA-256 of the DER', async () => {
    const pem = await readFile(caPath, 'utf8');
    const cert = new X509Certificate(pem);
    const der = path.join(dir, 'ca.der');
    await writeFile(der, cert.raw);
    const a = await caAnchorsFromFile(caPath, 'flag');
    const b = await caAnchorsFromFile(der, 'flag');
    expect(a.map((c) => c.fingerprint)).toEqual(b.map((c) => c.fingerprint));
    const { createHash } = await import('node:crypto');
    expect(a[0]!.fingerprint).toBe(`sha256:${createHash('sha256').update(cert.raw).digest('hex')}`);
    await writeFile(path.join(dir, 'junk.pem'), 'not a certificate');
    await expect(caAnchorsFromFile(path.join(dir, 'junk.pem'), 'flag')).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    expect(parseCaCertificates(`${pem}\n${pem}`)).toHaveLength(2);
  });

  it('a signing key is a sha256:<hex> fingerprint or an Ed25519 public key PEM; anything else is refused', async () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const fp = keyFingerprint(publicKey);
    const file = path.join(dir, 'k.pem');
    await writeFile(file, publicKey.export({ type: 'spki', format: 'pem' }));
    expect(await signingKeyFingerprint(file)).toBe(fp);
    expect(await signingKeyFingerprint(fp.toUpperCase().replace('SHA256:', 'sha256:'))).toBe(fp);
    await expect(signingKeyFingerprint('sha256:abc')).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(signingKeyFingerprint(caPath)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    expect((await flagAnchors({ signingKeys: [file] })).signingKeys).toEqual([{ fingerprint: fp, source: 'flag' }]);
  });

  it('add, list (idempotent), anchors and remove; a tampered stored certificate is not trusted', async () => {
    const file = path.join(dir, 'trust.json');
    const store = new TrustStore(file);
    expect(await store.entries()).toEqual([]);
    const fp = `sha256:${'ab'.repeat(32)}`;
    await store.addSigningKey(fp, 'Agency X');
    await store.addSigningKey(fp, 'again');
    const [ca] = await store.addTsaCa(caPath);
    expect((await store.entries()).map((e) => e.kind)).toEqual(['signing-key', 'tsa-ca']);
    const anchors = await store.anchors();
    expect(anchors.signingKeys).toEqual([{ fingerprint: fp, source: 'trust-store', name: 'Agency X' }]);
    expect(anchors.tsaCas.map((c) => c.fingerprint)).toEqual([ca!.fingerprint]);
    const local = await localAnchors({ trustFile: file, keysDir: path.join(dir, 'no-such-keys'), tsaCaFiles: [caPath] });
    expect(local.tsaCas).toHaveLength(1);
    expect(local.tsaCas[0]!.source).toBe('trust-store');
    // Someone edits the stored PEM to another certificate: its fingerprint no longer matches the entry.
    const other = await readFile(new URL('../../fixtures/tsa/other-ca.pem', import.meta.url), 'utf8');
    const doc = JSON.parse(await readFile(file, 'utf8'));
    doc.entries[1].pem = other;
    await writeFile(file, JSON.stringify(doc));
    expect((await store.anchors()).tsaCas).toEqual([]);
    expect(await store.remove(fp)).toBe(1);
    expect(await store.remove(fp)).toBe(0);
    await writeFile(file, '{"schemaVersion":"wrong"}');
    await expect(store.entries()).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
  });
});
