/**
 * Build steps up to the signed head (see build.ts for the order): the captures and their files, the
 * content manifest and the `packaged` event naming it, the head signed and timestamped after that
 * event, and the keys and TSA certificates the bag carries.
 */
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { isoUtc, newId } from '../../lib/clock.js';
import { mapLimit } from '../../lib/concurrency.js';
import { IntegrityError } from '../../lib/errors.js';
import type { CustodyEvent } from '../../schemas/custody.js';
import type { PostDocument } from '../../schemas/post.js';
import { sha256Digest } from '../canonical.js';
import { readStoredEvents, type StoredEvent, type StoredHead } from '../custody.js';
import { completeHeadTokens } from '../custody-heal.js';
import { readRotations, type StoredRotation } from '../key-rotation.js';
import type { PublicKeyInfo, SigningKey } from '../keys.js';
import { storeKeys } from '../store.js';
import { certificatesOfTokens } from '../timestamp.js';
import { parseCaCertificates, type CertInfo } from '../trust.js';
import type { BuildState } from './build-types.js';
import { byPath, captureEntries, loadCapture, type CaptureBundle } from './captures.js';
import type { CertificateImage } from './images.js';
import { certificatePosts } from './certificate-posts.js';
import { bagPaths } from './layout.js';
import { contentManifestBytes, sealedCaptureIds } from './seal.js';

/** What the package holds, as recorded in the `packaged` event. */
export interface PackageContent {
  packageId: string;
  activeKey: SigningKey;
  publicKeys: PublicKeyInfo[];
  /** The TSA trust anchors (config `tsa.caFiles`), concatenated. */
  caPem: string;
  operators: string[];
  legalBases: string[];
  omitted: Array<{ captureId: string; reason: string }>;
  /** Keys that signed the captures, and the key that signs now. */
  contentKeyFps: Set<string>;
  content: { bytes: Buffer; digest: string };
}

/** The signed head the bag ends with, and the log up to it. */
export interface HeadPart {
  signed: StoredHead;
  /** Why the package will be unsealed (no TSA token on the head), or null. */
  unsealedReason: string | null;
  events: StoredEvent[];
  /** Heads carried in the bag: every timestamped one, and the last. */
  heads: StoredHead[];
  headTokens: Map<number, Buffer[]>;
}

/** Public keys, rotation statements and TSA certificates the bag carries. */
export interface KeysPart {
  keyFiles: Array<{ path: string; pem: string }>;
  tsaRoots: CertInfo[];
  rotations: StoredRotation[];
  /** Every TSA certificate the tokens carry (PEM). */
  tsaPem: string;
}

/**
 * 1. Captures, loaded side by side; then their files go into the zip (in capture id order) while
 * the rest is prepared. Their reads would only slow the loading, which everything else waits for.
 * The certificate images (sharp, on the thread pool) start as soon as the captures have loaded.
 */
export async function loadCaptures(b: BuildState): Promise<{ captures: CaptureBundle[]; imaging: Promise<CertificateImage[]>; posts: Promise<Array<PostDocument | null>> }> {
  b.progress({ phase: 'head', bytesDone: 0, bytesTotal: 0 });
  const captures = await b.writer.race(
    mapLimit(b.captureIds, 16, async (id) => {
      const c = await loadCapture(b.store, b.caseId, id);
      b.images.pictureOf(c.manifest);
      return c;
    }),
  );
  const imaging = b.images.render(captures.map((c) => c.manifest));
  const posts = certificatePosts(b.store, captures.map((c) => c.manifest));
  for (const c of [...captures].sort((x, y) => (x.captureId < y.captureId ? -1 : x.captureId > y.captureId ? 1 : 0))) {
    const list = captureEntries(c, b);
    b.claims.claim(list);
    b.writer.add(list);
  }
  return { captures, imaging, posts };
}

/**
 * A whole case holds every capture its log says was sealed; one whose manifest the store does not
 * list (hidden, lost) is named with the reason instead of silently missing.
 */
async function omittedCaptures(b: BuildState, early: StoredEvent[]): Promise<Array<{ captureId: string; reason: string }>> {
  const held = new Set(b.captureIds);
  const notHeld = b.opts.captureIds?.length ? [] : sealedCaptureIds(early.map((e) => e.event)).filter((id) => !held.has(id));
  const omitted = await Promise.all(
    notHeld.map(async (captureId) => ({
      captureId,
      reason: (await b.store.stat(storeKeys.manifest(b.caseId, captureId))) ? 'sealed after this package listed the captures of the case' : 'the capture manifest is missing from the evidence store',
    })),
  );
  for (const o of omitted) b.log?.warn({ captureId: o.captureId }, `sealed capture left out of the whole-case package: ${o.reason}`);
  return omitted;
}

/** The files the content manifest lists: every capture file, the keys that signed them, and the TSA anchors. */
function contentFiles(b: BuildState, captures: CaptureBundle[], keyFps: Set<string>, publicKeys: PublicKeyInfo[], caPem: string) {
  return [
    ...captures.flatMap((c) => captureEntries(c, b)).map((e) => ({ path: e.path, sha256: e.expect?.sha256 ?? sha256Digest(e.bytes!), size: e.size })),
    ...[...keyFps].map((fp) => {
      const pem = publicKeys.find((k) => k.fingerprint === fp)?.pem;
      if (!pem) throw new IntegrityError('SIGNATURE_INVALID', `public key ${fp} is not in the key store ${b.opts.keys.dir}`);
      return { path: bagPaths.key(fp), sha256: sha256Digest(Buffer.from(pem)), size: Buffer.byteLength(pem) };
    }),
    { path: bagPaths.tsaCa, sha256: sha256Digest(Buffer.from(caPem)), size: Buffer.byteLength(caPem) },
  ].sort(byPath);
}

/** 2. What the package holds: the content manifest, recorded in the custody log before the head that ends the bag. */
export async function describeContent(b: BuildState, captures: CaptureBundle[], early: StoredEvent[]): Promise<PackageContent> {
  const { opts } = b;
  const activeKey = await opts.keys.activeKey();
  const publicKeys = await opts.keys.publicKeys();
  const caPem = (await Promise.all(opts.tsaCertFiles.map((f) => readFile(f, 'utf8')))).map((s) => s.trim() + '\n').join('');
  const operators = [...new Set(captures.flatMap((c) => [c.manifest.environment.operator, c.manifest.request.requestedBy]))].sort();
  const legalBases = [...new Set(captures.map((c) => c.manifest.request.legalBasis).filter((x): x is string => !!x))];
  const omitted = await omittedCaptures(b, early);
  const packageId = opts.packageId ?? newId();
  const contentKeyFps = new Set([activeKey.fingerprint, ...captures.flatMap((c) => (c.signature ? [c.signature.keyFingerprint] : []))]);
  const files = contentFiles(b, captures, contentKeyFps, publicKeys, caPem);
  const content = contentManifestBytes({
    schemaVersion: 'exhibit.package-content/1',
    packageId,
    caseId: b.caseId,
    createdAt: isoUtc(b.clock.now()),
    selection: opts.captureIds?.length ? { kind: 'captures', captureIds: [...b.captureIds].sort() } : { kind: 'case' },
    captureIds: [...b.captureIds].sort(),
    omitted,
    sealedThroughSeq: early.reduce((m, e) => Math.max(m, e.event.seq), 0),
    facts: { organization: opts.organization ?? 'Exhibit', legalBases, operators, packagedBy: `${opts.actor.id} (${opts.actor.role})` },
    files,
  });
  return { packageId, activeKey, publicKeys, caPem, operators, legalBases, omitted, contentKeyFps, content };
}

/**
 * The `packaged` event. Every capture file is in the zip and matched its sealed digests before
 * packaging is recorded: a store that lies or fails aborts the build with nothing on the log.
 */
export async function recordPackaged(b: BuildState, pc: PackageContent): Promise<CustodyEvent> {
  await b.writer.payloadDone();
  const { event } = await b.writer.race(
    b.opts.custody.append({
      caseId: b.caseId,
      actor: b.opts.actor,
      action: 'packaged',
      subject: { digests: [pc.content.digest] },
      details: { packageId: pc.packageId, package: path.basename(b.outPath), contentManifestDigest: pc.content.digest, captureIds: [...b.captureIds].sort(), selection: b.opts.captureIds?.length ? 'captures' : 'case', omitted: pc.omitted },
      idempotencyKey: `package:${b.caseId}:${pc.packageId}`,
    }),
  );
  return event;
}

/** 3. A head after the packaged event, signed and timestamped: the bag holds the log up to it. */
export async function signHeadAfter(b: BuildState, early: StoredEvent[]): Promise<HeadPart> {
  const { opts, writer, caseId, store } = b;
  const signed = await writer.race(opts.custody.signHead(caseId, { ...opts.headSigning, keys: opts.keys }));
  const headFailures = signed.timestampFailures.map((f) => `${f.tsaUrl}: ${f.failure.code}: ${f.failure.message}`);
  const unsealedReason = signed.tokens.length ? null : `custody head ${signed.head.seq} could not be timestamped${headFailures.length ? `: ${headFailures.join('; ')}` : ' (no TSA configured)'}`;
  // With the TSA answering again, earlier heads signed during an outage get their tokens now.
  if (signed.tokens.length) await writer.race(completeHeadTokens(opts.custody, caseId, { store, clock: b.clock, tsas: opts.headSigning.tsas, timestamp: opts.headSigning.timestamp, ...(b.log ? { logger: b.log } : {}) }));
  const late = await writer.race(readStoredEvents(store, caseId, new Set(early.map((e) => e.key))));
  const events = [...early, ...late].sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0)).filter((e) => e.event.seq <= signed.head.seq);
  if (events.length !== signed.head.seq) throw new IntegrityError('CUSTODY_CHAIN_BROKEN', `custody log of ${caseId} in the store has ${events.length} events up to head ${signed.head.seq}`);
  // A head without a token (signed during a TSA outage) is left out: a later timestamped head covers its events.
  const heads: StoredHead[] = (await opts.custody.readHeads(caseId, signed.head.seq)).filter((h) => h.tokens.length > 0 || h.head.seq === signed.head.seq);
  const headTokens = new Map<number, Buffer[]>();
  await Promise.all(heads.map(async (h) => headTokens.set(h.head.seq, await Promise.all(h.tokens.map((t) => store.getBytes(t.tsrKey))))));
  return { signed, unsealedReason, events, heads, headTokens };
}

/** 4. Keys and TSA certificates. */
export async function keysAndCertificates(b: BuildState, pc: PackageContent, captures: CaptureBundle[], head: HeadPart): Promise<KeysPart> {
  const fingerprints = new Set<string>([...pc.contentKeyFps, ...head.heads.map((h) => h.signature.keyFingerprint)]);
  const keyFiles: Array<{ path: string; pem: string }> = [];
  for (const fp of [...fingerprints].sort()) {
    const k = pc.publicKeys.find((x) => x.fingerprint === fp);
    if (!k) throw new IntegrityError('SIGNATURE_INVALID', `public key ${fp} is not in the key store ${b.opts.keys.dir}`);
    keyFiles.push({ path: bagPaths.key(fp), pem: k.pem });
  }
  const tsaRoots = pc.caPem.trim() ? parseCaCertificates(pc.caPem) : [];
  // Rotation statements (and the keys they name), so a recipient who pinned an earlier key
  // authenticates the one that signs now.
  const rotations = await readRotations(b.opts.keys);
  for (const r of rotations) {
    for (const fp of [r.rotation.previous, r.rotation.next]) {
      if (fingerprints.has(fp)) continue;
      fingerprints.add(fp);
      const k = pc.publicKeys.find((x) => x.fingerprint === fp);
      if (k) keyFiles.push({ path: bagPaths.key(fp), pem: k.pem });
    }
  }
  const allTokens = [...captures.flatMap((c) => c.timestamps.map((t) => t.tsr)), ...[...head.headTokens.values()].flat()];
  const tsaPem = certificatesOfTokens(allTokens).join('');
  return { keyFiles, tsaRoots, rotations, tsaPem };
}
