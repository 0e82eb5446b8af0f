/**
 * The ECDSA P-384 key that signs WACZ files in the WACZ Signing and Verification format (anonymous
 * signature), beside the Ed25519 key that signs manifests.
 *
 * Why a second key, and why P-384: ReplayWeb.page (wabac.js) checks an anonymous WACZ signature by
 * importing `publicKey` as SPKI with the named curve P-384 and verifying ECDSA with SHA-256 over the
 * UTF-8 text of `hash`; an Ed25519 or a P-256 key is refused there ("Named curve mismatch"), so the
 * viewer would show the WACZ as unsigned. The key proves nothing on its own (the spec calls it
 * anonymous): each WACZ is a sealed artifact whose SHA-256 is in the Ed25519-signed, timestamped
 * capture manifest, which is what ties it to Exhibit.
 *
 * Files in the key directory: `wacz-ecdsa-p384.key.pem` (PKCS#8, 0600) and `wacz-ecdsa-p384.pub.pem`
 * (SPKI). Created on first use; never rotated or deleted by the application.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { IntegrityError } from '../lib/errors.js';

export const WACZ_KEY_CURVE = 'P-384';
const PRIVATE_FILE = 'wacz-ecdsa-p384.key.pem';
const PUBLIC_FILE = 'wacz-ecdsa-p384.pub.pem';

export interface WaczSigningKey {
  privateKey: KeyObject;
  /** SPKI DER, base64: the `publicKey` field of an anonymous WACZ signature. */
  publicKeyBase64: string;
  /** `sha256:<hex>` of the SPKI DER (`openssl pkey -pubin -in k.pem -outform DER | sha256sum`). */
  fingerprint: string;
}

/** `sha256:<hex>` of a public key's SPKI DER. */
export function waczKeyFingerprint(spkiDer: Uint8Array): string {
  return `sha256:${createHash('sha256').update(spkiDer).digest('hex')}`;
}

function toSigningKey(privateKey: KeyObject): WaczSigningKey {
  const der = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  return { privateKey, publicKeyBase64: der.toString('base64'), fingerprint: waczKeyFingerprint(der) };
}

/** A new P-384 key, in memory (tests). */
export function generateWaczKey(): WaczSigningKey {
  return toSigningKey(generateKeyPairSync('ec', { namedCurve: WACZ_KEY_CURVE }).privateKey);
}

/** The WACZ signing key of a key directory (config `keys.dir`), created on first use. */
export async function loadWaczKey(dir: string): Promise<WaczSigningKey> {
  const abs = path.resolve(dir);
  await mkdir(abs, { recursive: true, mode: 0o700 });
  await chmod(abs, 0o700);
  const file = path.join(abs, PRIVATE_FILE);
  const fresh = generateKeyPairSync('ec', { namedCurve: WACZ_KEY_CURVE });
  try {
    await writeFile(file, fresh.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
    await writeFile(path.join(abs, PUBLIC_FILE), fresh.publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644, flag: 'wx' });
  } catch (err) {
    // Another process made it first (or an earlier run did): use the one on disk.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const st = await stat(file);
  if ((st.mode & 0o077) !== 0) throw new IntegrityError('SIGNATURE_INVALID', `private key ${file} is readable by others (mode ${(st.mode & 0o777).toString(8)}); expected 0600`);
  const privateKey = createPrivateKey(await readFile(file, 'utf8'));
  if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'secp384r1') {
    throw new IntegrityError('SIGNATURE_INVALID', `key file ${file} does not hold an ECDSA P-384 key`);
  }
  return toSigningKey(privateKey);
}

/**
 * Sign the `hash` text of a datapackage-digest.json as ReplayWeb.page verifies it: ECDSA with
 * SHA-256 over the UTF-8 bytes of the string, signature as r‖s (IEEE P1363, what WebCrypto
 * returns), base64.
 */
export function signWaczHash(hash: string, key: WaczSigningKey): string {
  return sign('sha256', Buffer.from(hash, 'utf8'), { key: key.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64');
}

/**
 * Check an anonymous WACZ signature: `signature` (base64; r‖s, or DER as some Python signers write)
 * over the UTF-8 text of `hash` with `publicKey` (base64 SPKI DER, any ECDSA curve). Returns why
 * not, or null when it verifies.
 */
export function verifyWaczSignature(o: { hash: string; signature: string; publicKey: string }): string | null {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(o.publicKey, 'base64'), format: 'der', type: 'spki' });
  } catch (e) {
    return `publicKey is not a public key (base64 SPKI DER): ${(e as Error).message}`;
  }
  if (key.asymmetricKeyType !== 'ec') return `publicKey is a ${key.asymmetricKeyType ?? 'unknown'} key, not ECDSA`;
  const sig = Buffer.from(o.signature, 'base64');
  const data = Buffer.from(o.hash, 'utf8');
  const check = (dsaEncoding: 'ieee-p1363' | 'der'): boolean => {
    try {
      return verify('sha256', data, { key, dsaEncoding }, sig);
    } catch {
      return false;
    }
  };
  const ok = check('ieee-p1363') || check('der');
  return ok ? null : `the signature does not verify with the publicKey (${waczKeyFingerprint(key.export({ type: 'spki', format: 'der' }))})`;
}
