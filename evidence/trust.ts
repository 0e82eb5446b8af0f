/**
 * Trust anchors for verifying packages: the signing keys and TSA roots a recipient pins. Keys and
 * CA certificates carried inside a package are information, never anchors: they let a package be
 * checked for consistency, and the verdict `verified` needs every signer and every TSA root to be
 * one of these.
 *
 * Anchors come from flags (`--signing-key sha256:<hex>|key.pem`, `--tsa-ca ca.pem|ca.der`), from the
 * local trust store (a JSON file, config `trust.file`, managed with `exhibit trust add|list|remove`),
 * and, for a deployment verifying its own packages, from its own key store and configured TSA CAs.
 */
import { createPublicKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isoUtc, systemClock, type Clock } from '../lib/clock.js';
import { PermanentError } from '../lib/errors.js';
import { readJsonFile, writeJsonFile } from '../lib/json-file.js';
import { TrustStoreFile, type AnchorSource, type TrustEntry } from '../schemas/trust.js';
import { keyFingerprint } from './keys.js';

/** A pinned Ed25519 signing key. */
export interface PinnedKey {
  fingerprint: string;
  source: AnchorSource;
  name?: string | null;
}

/** A pinned TSA root certificate. */
export interface PinnedCa {
  pem: string;
  fingerprint: string;
  subject: string;
  source: AnchorSource;
  name?: string | null;
}

/** What a verifier trusts. Empty lists: nothing is pinned, the best verdict is `unauthenticated`. */
export interface TrustAnchors {
  signingKeys: PinnedKey[];
  tsaCas: PinnedCa[];
}

export const noAnchors = (): TrustAnchors => ({ signingKeys: [], tsaCas: [] });

/** Both lists of several anchor sets, each fingerprint once (the first source named wins). */
export function mergeAnchors(...sets: TrustAnchors[]): TrustAnchors {
  const keys = new Map<string, PinnedKey>();
  const cas = new Map<string, PinnedCa>();
  for (const s of sets) {
    for (const k of s.signingKeys) if (!keys.has(k.fingerprint)) keys.set(k.fingerprint, k);
    for (const c of s.tsaCas) if (!cas.has(c.fingerprint)) cas.set(c.fingerprint, c);
  }
  return { signingKeys: [...keys.values()], tsaCas: [...cas.values()] };
}

/** A certificate's `sha256:` DER fingerprint, subject and PEM. */
export interface CertInfo {
  pem: string;
  fingerprint: string;
  subject: string;
}

function certInfo(cert: X509Certificate): CertInfo {
  return { pem: cert.toString(), fingerprint: `sha256:${cert.fingerprint256.replace(/:/g, '').toLowerCase()}`, subject: cert.subject.replace(/\n/g, ', ') };
}

/** Every certificate in PEM text (any number) or in one DER certificate. Throws on anything else. */
export function parseCaCertificates(bytes: Buffer | string): CertInfo[] {
  const buf = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
  const text = buf.toString('latin1');
  if (text.includes('-----BEGIN CERTIFICATE-----')) {
    const out: CertInfo[] = [];
    for (const m of text.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)) out.push(certInfo(new X509Certificate(m[0])));
    return out;
  }
  return [certInfo(new X509Certificate(buf))];
}

/** A TSA CA file (PEM or DER) as pinned roots. */
export async function caAnchorsFromFile(file: string, source: AnchorSource, name: string | null = null): Promise<PinnedCa[]> {
  let certs: CertInfo[];
  try {
    certs = parseCaCertificates(await readFile(file));
  } catch (cause) {
    throw new PermanentError('INVALID_INPUT', `${file}: not a PEM or DER X.509 certificate (${(cause as Error).message})`, { cause });
  }
  if (certs.length === 0) throw new PermanentError('INVALID_INPUT', `${file}: no certificate in it`);
  return certs.map((c) => ({ ...c, source, name }));
}

/**
 * A signing key given as `sha256:<64 hex>` (a fingerprint obtained out of band) or as the path of an
 * Ed25519 public key PEM; returns the fingerprint.
 */
export async function signingKeyFingerprint(spec: string): Promise<string> {
  const s = spec.trim();
  if (/^sha256:[0-9a-fA-F]{64}$/.test(s)) return s.toLowerCase();
  let pem: string;
  try {
    pem = await readFile(s, 'utf8');
  } catch (cause) {
    throw new PermanentError('INVALID_INPUT', `--signing-key ${JSON.stringify(spec)}: neither sha256:<64 hex> nor a readable public key file`, { cause });
  }
  try {
    return keyFingerprint(createPublicKey(pem));
  } catch (cause) {
    throw new PermanentError('INVALID_INPUT', `${s}: not an Ed25519 public key`, { cause });
  }
}

/** The local trust store: one JSON file, rewritten atomically. */
export class TrustStore {
  constructor(
    readonly file: string,
    private readonly clock: Clock = systemClock,
  ) {}

  async entries(): Promise<TrustEntry[]> {
    return (await readJsonFile(this.file, TrustStoreFile, 'trust store'))?.entries ?? [];
  }

  private async write(entries: TrustEntry[]): Promise<void> {
    await writeJsonFile(this.file, TrustStoreFile.parse({ schemaVersion: 'exhibit.trust-store/1', entries }));
  }

  /** Pin a signing key (fingerprint or PEM file); returns the entry (existing one when already pinned). */
  async addSigningKey(spec: string, name: string | null = null): Promise<TrustEntry> {
    const fingerprint = await signingKeyFingerprint(spec);
    const all = await this.entries();
    const have = all.find((e) => e.kind === 'signing-key' && e.fingerprint === fingerprint);
    if (have) return have;
    const entry: TrustEntry = { kind: 'signing-key', fingerprint, name, addedAt: isoUtc(this.clock.now()) };
    await this.write([...all, entry]);
    return entry;
  }

  /** Pin every certificate in a TSA CA file (PEM or DER). */
  async addTsaCa(file: string, name: string | null = null): Promise<TrustEntry[]> {
    const certs = await caAnchorsFromFile(file, 'trust-store', name);
    const all = await this.entries();
    const added: TrustEntry[] = [];
    for (const c of certs) {
      const have = all.find((e) => e.kind === 'tsa-ca' && e.fingerprint === c.fingerprint);
      if (have) {
        added.push(have);
        continue;
      }
      const entry: TrustEntry = { kind: 'tsa-ca', fingerprint: c.fingerprint, subject: c.subject, pem: c.pem, name, addedAt: isoUtc(this.clock.now()) };
      all.push(entry);
      added.push(entry);
    }
    await this.write(all);
    return added;
  }

  /** Remove the entries with this fingerprint; returns how many there were. */
  async remove(fingerprint: string): Promise<number> {
    const fp = fingerprint.trim().toLowerCase();
    const all = await this.entries();
    const keep = all.filter((e) => e.fingerprint !== fp);
    if (keep.length !== all.length) await this.write(keep);
    return all.length - keep.length;
  }

  async anchors(): Promise<TrustAnchors> {
    const out = noAnchors();
    for (const e of await this.entries()) {
      if (e.kind === 'signing-key') out.signingKeys.push({ fingerprint: e.fingerprint, source: 'trust-store', name: e.name });
      else {
        // The stored PEM is what is trusted; its fingerprint must still be the one listed.
        const c = parseCaCertificates(e.pem)[0];
        if (c?.fingerprint === e.fingerprint) out.tsaCas.push({ ...c, source: 'trust-store', name: e.name });
      }
    }
    return out;
  }
}

/**
 * What a deployment trusts when verifying: its trust store, and its own signing keys and configured
 * TSA CA files (it made those packages itself). A key directory that does not exist is not created.
 */
export async function localAnchors(opts: { trustFile: string; keysDir?: string; tsaCaFiles?: string[] }): Promise<TrustAnchors> {
  const sets: TrustAnchors[] = [await new TrustStore(opts.trustFile).anchors()];
  if (opts.keysDir) {
    const { stat } = await import('node:fs/promises');
    if (await stat(opts.keysDir).catch(() => null)) {
      const { KeyStore } = await import('./keys.js');
      const keys = await new KeyStore(opts.keysDir).publicKeys();
      sets.push({ signingKeys: keys.map((k) => ({ fingerprint: k.fingerprint, source: 'local-key-store' as const })), tsaCas: [] });
    }
  }
  for (const f of opts.tsaCaFiles ?? []) sets.push({ signingKeys: [], tsaCas: await caAnchorsFromFile(f, 'local-tsa-config') });
  return mergeAnchors(...sets);
}

/** Anchors given on the command line (or in an API request). */
export async function flagAnchors(opts: { signingKeys?: string[]; tsaCaFiles?: string[] }): Promise<TrustAnchors> {
  const signingKeys = await Promise.all((opts.signingKeys ?? []).map(async (s) => ({ fingerprint: await signingKeyFingerprint(s), source: 'flag' as const })));
  const tsaCas = (await Promise.all((opts.tsaCaFiles ?? []).map((f) => caAnchorsFromFile(f, 'flag')))).flat();
  return { signingKeys, tsaCas };
}
