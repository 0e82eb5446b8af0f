/**
 * Test helper: what a forger with the package in hand can do — edit files, re-sign with their own
 * key (placed in data/keys/), get fresh tokens from a TSA, re-seal the package with that key and
 * re-bag it with correct BagIt manifests, Payload-Oxum and tag manifests — so that only the trust
 * model (pinned anchors, the signed custody log) stands in the way.
 */
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { systemClock } from '../../lib/clock.js';
import { canonicalBytes, sha256Digest } from '../../evidence/canonical.js';
import { keyFingerprint } from '../../evidence/keys.js';
import { unsealedByDesign } from '../../evidence/package/layout.js';
import { timestampDigest, type TsaEndpoint } from '../../evidence/timestamp.js';

export async function listFiles(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const d of await readdir(path.join(dir, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${d.name}` : d.name;
    if (d.isDirectory()) out.push(...(await listFiles(dir, p)));
    else out.push(p);
  }
  return out.sort();
}

export interface Forger {
  key: KeyObject;
  fingerprint: string;
  /** Sign `bytes` (Ed25519 over their SHA-256) and write `<sigPath>` and its record, and the key into data/keys/. */
  signInto(bag: string, bytes: Buffer, sigPath: string, recordPath: string): Promise<void>;
  /** A fresh token over `bytes` from the TSA, written as `<tsrPath>` and its record. */
  stampInto(bag: string, bytes: Buffer, tsrPath: string, recordPath: string): Promise<void>;
  /** Re-list every file in package-seal.json, re-sign it and re-timestamp it. */
  reseal(bag: string): Promise<void>;
}

export function makeForger(tsas: TsaEndpoint[], caPem: string): Forger {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const fingerprint = keyFingerprint(publicKey);
  const f: Forger = {
    key: privateKey,
    fingerprint,
    async signInto(bag, bytes, sigPath, recordPath) {
      const digest = createHash('sha256').update(bytes).digest();
      const sig = sign(null, digest, privateKey);
      await writeFile(path.join(bag, sigPath), sig);
      await writeFile(path.join(bag, recordPath), `${JSON.stringify({ schemaVersion: 'exhibit.signature/1', algorithm: 'Ed25519', keyFingerprint: fingerprint, signedDigest: `sha256:${digest.toString('hex')}`, signature: sig.toString('base64'), signedAt: new Date().toISOString() }, null, 2)}\n`);
      await writeFile(path.join(bag, `data/keys/${fingerprint.slice(7)}.pem`), publicKey.export({ type: 'spki', format: 'pem' }));
    },
    async stampInto(bag, bytes, tsrPath, recordPath) {
      const outcome = await timestampDigest(sha256Digest(bytes), tsas, { clock: systemClock, trustAnchors: [caPem], attempts: 2, backoffMs: 50 });
      const tok = outcome.tokens[0];
      if (!tok) throw new Error(`the TSA gave no token: ${JSON.stringify(outcome.failures)}`);
      await writeFile(path.join(bag, tsrPath), tok.tsr);
      await writeFile(path.join(bag, recordPath), `${JSON.stringify({ ...tok.record, token: path.posix.basename(tsrPath) }, null, 2)}\n`);
    },
    async reseal(bag) {
      const seal = JSON.parse(await readFile(path.join(bag, 'package-seal.json'), 'utf8'));
      const files = [];
      for (const p of await listFiles(bag)) {
        if (unsealedByDesign(p)) continue;
        const b = await readFile(path.join(bag, p));
        files.push({ path: p, sha256: sha256Digest(b), size: b.length });
      }
      const bytes = canonicalBytes({ ...seal, files });
      await writeFile(path.join(bag, 'package-seal.json'), bytes);
      await f.signInto(bag, bytes, 'package-seal.sig', 'package-seal.signature.json');
      await f.stampInto(bag, bytes, 'package-seal.timestamp-1.tsr', 'package-seal.timestamp-1.json');
    },
  };
  return f;
}

/** Recompute the payload manifests, Payload-Oxum and tag manifests (listing every top-level file), as a forger would. */
export async function rebag(bag: string): Promise<void> {
  const all = await listFiles(bag);
  const payload = all.filter((f) => f.startsWith('data/'));
  let bytes = 0;
  const lines: Record<'sha256' | 'sha512', string[]> = { sha256: [], sha512: [] };
  for (const f of payload) {
    const b = await readFile(path.join(bag, f));
    bytes += b.length;
    for (const alg of ['sha256', 'sha512'] as const) lines[alg].push(`${createHash(alg).update(b).digest('hex')}  ${f}\n`);
  }
  for (const alg of ['sha256', 'sha512'] as const) await writeFile(path.join(bag, `manifest-${alg}.txt`), lines[alg].join(''));
  const info = await readFile(path.join(bag, 'bag-info.txt'), 'utf8');
  await writeFile(path.join(bag, 'bag-info.txt'), info.replace(/^Payload-Oxum: .*$/m, `Payload-Oxum: ${bytes}.${payload.length}`));
  const tagFiles = (await listFiles(bag)).filter((f) => !f.startsWith('data/') && !f.startsWith('tagmanifest-'));
  for (const alg of ['sha256', 'sha512'] as const) {
    const tag = [];
    for (const f of tagFiles) tag.push(`${createHash(alg).update(await readFile(path.join(bag, f))).digest('hex')}  ${f}\n`);
    await writeFile(path.join(bag, `tagmanifest-${alg}.txt`), tag.join(''));
  }
}
