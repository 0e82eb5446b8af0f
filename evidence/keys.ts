/**
 * Ed25519 signing key store.
 *
 * Layout of the key directory (created mode 0700 on first use):
 * - `<hex>.key.pem`  PKCS#8 private key, mode 0600, never leaves this directory;
 * - `<hex>.pub.pem`  SPKI public key (what travels in packages as `data/keys/<hex>.pem`);
 * - `active`         the fingerprint of the key that signs from now on.
 *
 * `<hex>` is the key fingerprint without its prefix. The fingerprint is
 * `sha256:<hex of SHA-256 over the raw 32-byte Ed25519 public key>` (RFC 8032 encoding), so anyone
 * can recompute it from the PEM with `openssl pkey -pubin -in k.pem -outform DER | tail -c 32 | sha256sum`.
 *
 * Rotation creates a new key and points `active` at it; old public keys stay, so signatures
 * made with them still verify. Private keys are never deleted by the application.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmod, mkdir, readFile, readdir, rename, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { IntegrityError, PermanentError } from '../lib/errors.js';

/** An Ed25519 public key with its fingerprint. */
export interface PublicKeyInfo {
  fingerprint: string;
  /** SPKI PEM. */
  pem: string;
  active: boolean;
}

/** The active signing key. */
export interface SigningKey {
  fingerprint: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** Raw 32-byte Ed25519 public key of a KeyObject (last 32 bytes of the 44-byte SPKI DER). */
export function rawPublicKey(key: KeyObject): Buffer {
  const der = key.export({ type: 'spki', format: 'der' });
  if (key.asymmetricKeyType !== 'ed25519' || der.length !== 44) throw new PermanentError('INVALID_INPUT', 'not an Ed25519 public key');
  return der.subarray(12);
}

/** `sha256:<hex>` of the raw 32-byte public key. Accepts a KeyObject or a PEM. */
export function keyFingerprint(key: KeyObject | string): string {
  const obj = typeof key === 'string' ? createPublicKey(key) : key.type === 'private' ? createPublicKey(key) : key;
  return `sha256:${createHash('sha256').update(rawPublicKey(obj)).digest('hex')}`;
}

const hexOf = (fingerprint: string) => fingerprint.replace(/^sha256:/, '');

/** The key store. One instance per key directory; safe to share among processes on one machine. */
export class KeyStore {
  readonly dir: string;
  private cache: SigningKey | null = null;

  /** @param dir Key directory (config `keys.dir`). */
  constructor(dir: string) {
    this.dir = path.resolve(dir);
  }

  private async ensureDir(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await chmod(this.dir, 0o700);
  }

  /** Write a new key pair; returns its fingerprint. Files are created exclusively (`wx`). */
  private async createKey(): Promise<string> {
    await this.ensureDir();
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const fp = keyFingerprint(publicKey);
    const hex = hexOf(fp);
    await writeFile(path.join(this.dir, `${hex}.key.pem`), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
    await writeFile(path.join(this.dir, `${hex}.pub.pem`), publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644, flag: 'wx' });
    return fp;
  }

  private async readActive(): Promise<string | null> {
    try {
      const fp = (await readFile(path.join(this.dir, 'active'), 'utf8')).trim();
      return fp || null;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  /** Point `active` at `fp` atomically (write temp + rename). */
  private async setActive(fp: string): Promise<void> {
    const tmp = path.join(this.dir, `.active.${process.pid}.${Date.now()}`);
    await writeFile(tmp, `${fp}\n`, { mode: 0o644 });
    await rename(tmp, path.join(this.dir, 'active'));
  }

  private async loadKey(fp: string): Promise<SigningKey> {
    const file = path.join(this.dir, `${hexOf(fp)}.key.pem`);
    const st = await stat(file);
    if ((st.mode & 0o077) !== 0) {
      throw new IntegrityError('SIGNATURE_INVALID', `private key ${file} is readable by others (mode ${(st.mode & 0o777).toString(8)}); expected 0600`);
    }
    const privateKey = createPrivateKey(await readFile(file, 'utf8'));
    const publicKey = createPublicKey(privateKey);
    const actual = keyFingerprint(publicKey);
    if (actual !== fp) throw new IntegrityError('SIGNATURE_INVALID', `key file ${file} holds key ${actual}, not ${fp}`);
    return { fingerprint: fp, privateKey, publicKey };
  }

  /** The active signing key, created on first use. */
  async activeKey(): Promise<SigningKey> {
    if (this.cache) return this.cache;
    await this.ensureDir();
    let fp = await this.readActive();
    if (!fp) {
      const created = await this.createKey();
      // Another process may have won the race to create the first key: keep whichever is active.
      try {
        await writeFile(path.join(this.dir, 'active'), `${created}\n`, { mode: 0o644, flag: 'wx' });
        fp = created;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        fp = await this.readActive();
        if (!fp) throw new PermanentError('INVALID_CONFIG', `key store ${this.dir}: empty active file`);
      }
    }
    this.cache = await this.loadKey(fp);
    return this.cache;
  }

  /** Create a new active key; old public (and private) keys stay so old signatures verify. */
  async rotateKey(): Promise<SigningKey> {
    const fp = await this.createKey();
    await this.setActive(fp);
    this.cache = await this.loadKey(fp);
    return this.cache;
  }

  /** Every public key in the store, active one flagged, sorted by fingerprint. */
  async publicKeys(): Promise<PublicKeyInfo[]> {
    await this.ensureDir();
    const active = await this.readActive();
    const names = (await readdir(this.dir)).filter((n) => /^[0-9a-f]{64}\.pub\.pem$/.test(n)).sort();
    const out: PublicKeyInfo[] = [];
    for (const name of names) {
      const pem = await readFile(path.join(this.dir, name), 'utf8');
      const fingerprint = keyFingerprint(pem);
      if (hexOf(fingerprint) !== name.slice(0, 64)) throw new IntegrityError('SIGNATURE_INVALID', `public key file ${name} holds key ${fingerprint}`);
      out.push({ fingerprint, pem, active: fingerprint === active });
    }
    return out;
  }

  /** The public key with this fingerprint, or null. */
  async publicKey(fingerprint: string): Promise<PublicKeyInfo | null> {
    return (await this.publicKeys()).find((k) => k.fingerprint === fingerprint) ?? null;
  }
}
