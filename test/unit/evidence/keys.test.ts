import { execFile } from 'node:child_process';
import { createPublicKey, sign, verify } from 'node:crypto';
import { chmod, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KeyStore, keyFingerprint, rawPublicKey } from '../../../evidence/keys.js';

const run = promisify(execFile);

describe('KeyStore', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'exhibit-keys-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('creates a key on first use: dir 0700, private key 0600, public key beside it', async () => {
    const ks = new KeyStore(path.join(dir, 'keys'));
    const key = await ks.activeKey();
    expect((await stat(ks.dir)).mode & 0o777).toBe(0o700);
    const hex = key.fingerprint.slice(7);
    expect((await stat(path.join(ks.dir, `${hex}.key.pem`))).mode & 0o777).toBe(0o600);
    expect((await readdir(ks.dir)).sort()).toEqual(['active', `${hex}.key.pem`, `${hex}.pub.pem`].sort());
    // Same key on the next use, also from a new instance.
    expect((await new KeyStore(ks.dir).activeKey()).fingerprint).toBe(key.fingerprint);
  });

  it('fingerprint is sha256 of the raw 32-byte public key, as openssl computes it', async () => {
    const ks = new KeyStore(dir);
    const key = await ks.activeKey();
    expect(rawPublicKey(key.publicKey).length).toBe(32);
    const pub = path.join(dir, `${key.fingerprint.slice(7)}.pub.pem`);
    const { stdout } = await run('bash', ['-o', 'pipefail', '-c', `openssl pkey -pubin -in ${pub} -outform DER | tail -c 32 | sha256sum | cut -c1-64`]);
    expect(`sha256:${stdout.trim()}`).toBe(key.fingerprint);
    expect(keyFingerprint(await readFile(pub, 'utf8'))).toBe(key.fingerprint);
  });

  it('rotation makes a new active key and keeps old public keys so old signatures verify', async () => {
    const ks = new KeyStore(dir);
    const old = await ks.activeKey();
    const msg = Buffer.alloc(32, 7);
    const oldSig = sign(null, msg, old.privateKey);
    const fresh = await ks.rotateKey();
    expect(fresh.fingerprint).not.toBe(old.fingerprint);
    expect((await ks.activeKey()).fingerprint).toBe(fresh.fingerprint);
    expect((await new KeyStore(dir).activeKey()).fingerprint).toBe(fresh.fingerprint);
    const all = await ks.publicKeys();
    expect(all.map((k) => k.fingerprint).sort()).toEqual([old.fingerprint, fresh.fingerprint].sort());
    expect(all.find((k) => k.active)?.fingerprint).toBe(fresh.fingerprint);
    const oldPub = (await ks.publicKey(old.fingerprint))!;
    expect(verify(null, msg, createPublicKey(oldPub.pem), oldSig)).toBe(true);
    expect(verify(null, msg, createPublicKey((await ks.publicKey(fresh.fingerprint))!.pem), oldSig)).toBe(false);
  });

  it('refuses a private key file readable by others', async () => {
    const ks = new KeyStore(dir);
    const key = await ks.activeKey();
    await chmod(path.join(dir, `${key.fingerprint.slice(7)}.key.pem`), 0o644);
    await expect(new KeyStore(dir).activeKey()).rejects.toThrow(/readable by others/);
  });

  it('two stores racing on first use agree on one active key', async () => {
    const [a, b] = await Promise.all([new KeyStore(dir).activeKey(), new KeyStore(dir).activeKey()]);
    const active = (await readFile(path.join(dir, 'active'), 'utf8')).trim();
    expect(new KeyStore(dir)).toBeDefined();
    expect((await new KeyStore(dir).activeKey()).fingerprint).toBe(active);
    expect([a.fingerprint, b.fingerprint]).toContain(active);
  });
});
