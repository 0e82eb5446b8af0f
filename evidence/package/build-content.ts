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
import { elideLog } from '../custody-elide.js';
import { completeHeadTokens } from '../custody-heal.js';
import { readRotations, type StoredRotation } from '../key-rotation.js';
import type { PublicKeyInfo, SigningKey } from '../keys.js';
import { storeKeys } from '../store.js';
import { certificatesOfTokens } from '../timestamp.js';
import { parseCaCertificates, type CertInfo } from '../trust.js';
import type { BuildState, DerivedProduct } from './build-types.js';
import { receivedEntries } from './build-received.js';
import { disclosedView, signShareRecord, withheldArtifacts, withheldOfAll, type ShareSpec } from './build-share.js';
import { byPath, captureEntries, inMemory, loadCapture, type CaptureBundle } from './captures.js';
import type { CertificateImage } from './images.js';
import { certificatePosts } from './certificate-posts.js';
import { bagPaths, isSafeRelativeName } from './layout.js';
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
  /** For a share: the signed share record (listed in the content manifest). */
  share: (ReturnType<typeof signShareRecord> & { spec: ShareSpec }) | null;
  /** The package carries a case graph (data/analysis/). */
  caseGraph: boolean;
}

/** Derived products' files into the zip under data/analysis/; their names must be safe and unique. */
async function derivedProducts(b: BuildState): Promise<{ products: DerivedProduct[]; files: Array<{ path: string; sha256: string; size: number }> }> {
  const products = b.opts.analysis ? await b.writer.race(b.opts.analysis([...b.captureIds].sort())) : [];
  const entries = products.flatMap((p) =>
    p.files.map((f) => {
      if (!isSafeRelativeName(f.name)) throw new IntegrityError('PACKAGE_INVALID', `unsafe analysis file name ${JSON.stringify(f.name)}`);
      return inMemory(bagPaths.analysis(f.name), f.bytes);
    }),
  );
  b.claims.claim(entries);
  b.writer.add(entries);
  return { products, files: entries.map((e) => ({ path: e.path, sha256: sha256Digest(e.bytes!), size: e.size })) };
}

/** The signed head the bag ends with, and the log up to it. */
export interface HeadPart {
  signed: StoredHead;
  /** Why the package will be unsealed (no TSA token on the head), or null. */
  unsealedReason: string | null;
  /** The events the package discloses whole (every event for a whole-case package). */
  events: StoredEvent[];
  /** data/custody/events.jsonl, a line per event up to the head: disclosed bytes or elided stubs (custody-elide.ts). */
  lines: Buffer[];
  /** Seqs of the events elided. */
  elided: number[];
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
      if (b.opts.share) c.withheld = new Set(withheldArtifacts(c.manifest, b.opts.share.withhold).items.map((w) => w.name));
      b.images.pictureOf(disclosedView(c.manifest, c.withheld));
      return c;
    }),
  );
  // A withhold rule that matches nothing is refused before anything is written or recorded.
  if (b.opts.share) withheldOfAll(captures.map((c) => c.manifest), b.opts.share.withhold);
  const imaging = b.images.render(captures.map((c) => disclosedView(c.manifest, c.withheld)));
  const posts = certificatePosts(b.store, captures.map((c) => c.manifest));
  for (const c of [...captures].sort((x, y) => (x.captureId < y.captureId ? -1 : x.captureId > y.captureId ? 1 : 0))) {
    const list = captureEntries(c, b);
    b.claims.claim(list);
    b.writer.add(list);
  }
  const received = receivedEntries(b.store, b.received);
  b.claims.claim(received);
  b.writer.add(received);
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
    ...(b.caseWacz ? [{ path: b.caseWacz.path, sha256: b.caseWacz.expect!.sha256, size: b.caseWacz.size }] : []),
    ...b.received.flatMap((r) => [
      { path: bagPaths.receivedZip(r.record.package.sha256), sha256: r.record.package.sha256, size: r.record.package.size },
      { path: bagPaths.receivedRecord(r.record.package.sha256), sha256: sha256Digest(r.recordBytes), size: r.recordBytes.length },
    ]),
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
  const derived = await derivedProducts(b);
  const captureFiles = contentFiles(b, captures, contentKeyFps, publicKeys, caPem);
  const withheld = opts.share ? withheldOfAll(captures.map((c) => c.manifest), opts.share.withhold) : [];
  const share = opts.share
    ? {
        spec: opts.share,
        ...signShareRecord(
          { spec: opts.share, packageId, caseId: b.caseId, organization: opts.organization ?? 'Exhibit', sharedBy: `${opts.actor.id} (${opts.actor.role})`, captureIds: b.captureIds, files: captureFiles.filter((f) => f.path.startsWith('data/captures/')).length, withheld },
          { key: activeKey, clock: b.clock },
        ),
      }
    : null;
  const files = [...captureFiles, ...derived.files, ...(share ? [{ path: bagPaths.shareRecord, sha256: share.digest, size: share.bytes.length }] : [])].sort(byPath);
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
    ...(withheld.length ? { withheld } : {}),
    ...(b.received.length ? { received: b.received.map((r) => ({ packageSha256: r.record.package.sha256, captureIds: r.record.captures.map((c) => c.captureId).sort() })) } : {}),
    ...(derived.products.length ? { analysis: derived.products.map((p) => ({ kind: p.kind, derived: true as const, description: p.description, files: p.files.map((f) => bagPaths.analysis(f.name)) })) } : {}),
  });
  return { packageId, activeKey, publicKeys, caPem, operators, legalBases, omitted, contentKeyFps, content, share, caseGraph: derived.products.some((p) => p.kind === 'case-graph') };
}

/**
 * The `packaged` event. Every capture file is in the zip and matched its sealed digests before
 * packaging is recorded: a store that lies or fails aborts the build with nothing on the log.
 */
export async function recordPackaged(b: BuildState, pc: PackageContent): Promise<{ event: CustodyEvent; shared: CustodyEvent | null }> {
  await b.writer.payloadDone();
  const packaged = {
    caseId: b.caseId,
    actor: b.opts.actor,
    action: 'packaged' as const,
    subject: { digests: [pc.content.digest] },
    details: { packageId: pc.packageId, package: path.basename(b.outPath), contentManifestDigest: pc.content.digest, captureIds: [...b.captureIds].sort(), selection: b.opts.captureIds?.length ? 'captures' : 'case', omitted: pc.omitted },
    idempotencyKey: `package:${b.caseId}:${pc.packageId}`,
  };
  if (!pc.share) {
    const { event } = await b.writer.race(b.opts.custody.append(packaged));
    return { event, shared: null };
  }
  // Sharing is on the sender's log, right after the packaged event and under the same signed head.
  const r = pc.share.record;
  const [p, s] = await b.writer.race(
    b.opts.custody.appendAll([
      packaged,
      {
        caseId: b.caseId,
        actor: b.opts.actor,
        action: 'shared',
        subject: { digests: [pc.share.digest] },
        details: {
          shareId: r.shareId, packageId: pc.packageId, partner: r.recipient.partner, partnerKeys: r.recipient.signingKeys, legalBasis: r.legalBasis, tlp: r.tlp, expires: r.expires,
          captureIds: r.disclosed.captureIds, withheld: r.withheld.map((w) => ({ captureId: w.captureId, name: w.name, sha256: w.sha256 })), shareRecordDigest: pc.share.digest,
        },
        idempotencyKey: `share:${b.caseId}:${pc.packageId}`,
      },
    ]),
  );
  return { event: p!.event, shared: s!.event };
}

/**
 * 3. A head after the packaged event, signed and timestamped: the bag holds the log up to it. A
 * package of chosen captures discloses only their events and its own `packaged` event; the others
 * are elided to their hashes (custody-elide.ts).
 */
export async function signHeadAfter(b: BuildState, early: StoredEvent[], packageId: string): Promise<HeadPart> {
  const { opts, writer, caseId, store } = b;
  const signed = await writer.race(opts.custody.signHead(caseId, { ...opts.headSigning, keys: opts.keys }));
  const headFailures = signed.timestampFailures.map((f) => `${f.tsaUrl}: ${f.failure.code}: ${f.failure.message}`);
  const unsealedReason = signed.tokens.length ? null : `custody head ${signed.head.seq} could not be timestamped${headFailures.length ? `: ${headFailures.join('; ')}` : ' (no TSA configured)'}`;
  // With the TSA answering again, earlier heads signed during an outage get their tokens now.
  if (signed.tokens.length) await writer.race(completeHeadTokens(opts.custody, caseId, { store, clock: b.clock, tsas: opts.headSigning.tsas, timestamp: opts.headSigning.timestamp, ...(b.log ? { logger: b.log } : {}) }));
  const late = await writer.race(readStoredEvents(store, caseId, new Set(early.map((e) => e.key))));
  const all = [...early, ...late].sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0)).filter((e) => e.event.seq <= signed.head.seq);
  if (all.length !== signed.head.seq) throw new IntegrityError('CUSTODY_CHAIN_BROKEN', `custody log of ${caseId} in the store has ${all.length} events up to head ${signed.head.seq}`);
  const receivedIds = b.received.flatMap((r) => r.record.captures.map((c) => c.captureId));
  const { lines, disclosed: events, elided } = elideLog(all, opts.captureIds?.length ? { captureIds: new Set([...b.captureIds, ...receivedIds]), packageId } : null);
  // A head without a token (signed during a TSA outage) is left out: a later timestamped head covers its events.
  const heads: StoredHead[] = (await opts.custody.readHeads(caseId, signed.head.seq)).filter((h) => h.tokens.length > 0 || h.head.seq === signed.head.seq);
  const headTokens = new Map<number, Buffer[]>();
  await Promise.all(heads.map(async (h) => headTokens.set(h.head.seq, await Promise.all(h.tokens.map((t) => store.getBytes(t.tsrKey))))));
  return { signed, unsealedReason, events, lines, elided, heads, headTokens };
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
