/**
 * Signing-key rotation statements. `rotateSigningKey` makes a new active key and has the OUTGOING
 * key sign a statement naming both fingerprints and the time (canonical RFC 8785 bytes of a
 * `KeyRotation`, signed like a manifest: Ed25519 over their SHA-256). Statements live in the key
 * directory under `rotations/<new hex>.json` + `.signature.json` and travel in every package under
 * data/keys/rotations/, so a recipient who pinned an earlier key authenticates its successors —
 * `verify` follows the chain from pinned keys only.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { isoUtc, type Clock } from '../lib/clock.js';
import { SignatureRecord } from '../schemas/custody.js';
import { KeyRotation } from '../schemas/trust.js';
import { canonicalBytes, sha256Digest } from './canonical.js';
import type { KeyStore, SigningKey } from './keys.js';
import { recordBytes, signDigest, verifySignatureRecord } from './signing.js';

export interface StoredRotation {
  rotation: KeyRotation;
  /** Exact canonical bytes that were signed. */
  bytes: Buffer;
  signature: SignatureRecord;
}

const rotationsDir = (keys: KeyStore) => path.join(keys.dir, 'rotations');
const hexOf = (fp: string) => fp.replace(/^sha256:/, '');

/** Rotate to a new key; the outgoing key signs the statement (none when there was no key yet). */
export async function rotateSigningKey(keys: KeyStore, clock: Clock): Promise<{ key: SigningKey; rotation: StoredRotation | null }> {
  const outgoing = (await keys.publicKeys()).find((k) => k.active) ? await keys.activeKey() : null;
  const key = await keys.rotateKey();
  if (!outgoing) return { key, rotation: null };
  const rotation = KeyRotation.parse({ schemaVersion: 'exhibit.key-rotation/1', previous: outgoing.fingerprint, next: key.fingerprint, time: isoUtc(clock.now()) });
  const bytes = canonicalBytes(rotation);
  const signature = signDigest(sha256Digest(bytes), outgoing, clock);
  const dir = rotationsDir(keys);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(path.join(dir, `${hexOf(key.fingerprint)}.json`), bytes, { flag: 'wx', mode: 0o644 });
  await writeFile(path.join(dir, `${hexOf(key.fingerprint)}.signature.json`), recordBytes(signature), { flag: 'wx', mode: 0o644 });
  return { key, rotation: { rotation, bytes, signature } };
}

/** Every rotation statement in the key store, each checked against the outgoing key it names. */
export async function readRotations(keys: KeyStore): Promise<StoredRotation[]> {
  const dir = rotationsDir(keys);
  const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? [] : Promise.reject(err)));
  const pub = new Map((await keys.publicKeys()).map((k) => [k.fingerprint, k.pem]));
  const out: StoredRotation[] = [];
  for (const n of names.filter((x) => /^[0-9a-f]{64}\.json$/.test(x)).sort()) {
    const bytes = await readFile(path.join(dir, n));
    const rotation = KeyRotation.parse(JSON.parse(bytes.toString('utf8')));
    const signature = SignatureRecord.parse(JSON.parse(await readFile(path.join(dir, n.replace(/\.json$/, '.signature.json')), 'utf8')));
    const pem = pub.get(rotation.previous);
    if (!pem) throw new Error(`rotation ${n}: outgoing key ${rotation.previous} is not in the key store`);
    verifySignatureRecord(signature, { digest: sha256Digest(bytes), publicKeyPem: pem });
    out.push({ rotation, bytes, signature });
  }
  return out;
}
