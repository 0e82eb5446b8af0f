/**
 * The checks that tie a package to its signed custody log and seal it as a whole:
 * - each capture's manifest digest and signing key equal those its `manifest-signed` event records,
 *   and each artifact has its `artifact-sealed` event, all covered by a signed, timestamped head;
 * - package-seal.json lists every file of the bag (except the BagIt manifests and the seal's own
 *   signature and tokens) with its SHA-256, and is signed and timestamped;
 * - the content manifest it names is the one the `packaged` event records (covered by a head), and
 *   a whole-case package holds every capture the log says was sealed, or names it as left out.
 */
import { sha256Digest } from '../canonical.js';
import type { CustodyEvent } from '../../schemas/custody.js';
import type { CaptureManifest } from '../../schemas/manifest.js';
import { PackageContentManifest, PackageSeal } from '../../schemas/trust.js';
import { bagPaths, unsealedByDesign } from './layout.js';

interface Sink {
  pass(item: string, check: string, message?: string): boolean;
  fail(item: string, check: string, message: string): boolean;
}

const errMsg = (e: unknown) => (e instanceof Error ? e.message : String(e)).slice(0, 500);

/** The manifest digest a `manifest-signed` event records (details, or the subject of older events). */
function recordedDigest(e: CustodyEvent): string | null {
  const d = e.details.manifestDigest;
  if (typeof d === 'string') return d;
  return e.subject.digests?.[0] ?? null;
}

export function crossCheckCustody(ctx: {
  report: Sink;
  events: CustodyEvent[];
  coveredSeq: number;
  captures: Map<string, { digest: string; signer: string | null; manifest: CaptureManifest | null }>;
}): void {
  const { report: r } = ctx;
  for (const [id, c] of ctx.captures) {
    const mp = bagPaths.captureManifest(id);
    const covered = ctx.events.filter((e) => e.subject.captureId === id && e.seq <= ctx.coveredSeq);
    const signed = covered.filter((e) => e.action === 'manifest-signed');
    if (signed.length === 0) {
      r.fail(mp, 'custody-manifest', `capture ${id}: no manifest-signed event covered by a signed and timestamped custody head`);
    } else {
      const match = signed.find((e) => recordedDigest(e) === c.digest);
      if (!match) {
        r.fail(mp, 'custody-manifest', `capture ${id}: manifest.json is ${c.digest}, but the signed custody log records ${signed.map((e) => `${recordedDigest(e)} (event ${e.seq})`).join(', ')}`);
      } else {
        const fp = match.details.keyFingerprint;
        if (c.signer && typeof fp === 'string' && fp !== c.signer) r.fail(bagPaths.captureSig(id), 'custody-manifest', `capture ${id}: signed by ${c.signer}, but the custody log records key ${fp} (event ${match.seq})`);
        else r.pass(mp, 'custody-manifest', `matches manifest-signed event ${match.seq}`);
      }
    }
    const sealedArtifacts = covered.filter((e) => e.action === 'artifact-sealed');
    if (!c.manifest || sealedArtifacts.length === 0) continue;
    for (const a of c.manifest.artifacts) {
      const ap = bagPaths.artifact(id, a);
      const ev = sealedArtifacts.find((e) => e.subject.digests?.includes(a.sha256) && (typeof e.details.name !== 'string' || e.details.name === a.name));
      if (ev) r.pass(ap, 'custody-artifact', `matches artifact-sealed event ${ev.seq}`);
      else r.fail(ap, 'custody-artifact', `capture ${id}: artifact ${a.name} (${a.sha256}) has no artifact-sealed event in the signed custody log`);
    }
  }
}

export interface SealContext {
  files: string[];
  fileSet: Set<string>;
  read(p: string): Promise<Buffer>;
  sha256Of(p: string): Promise<string>;
  report: Sink;
  checkSignature(subject: string, sigPath: string, recordPath: string, digest: string): Promise<string | null>;
  checkTokens(tokenPaths: string[], digest: string, subject: string, recordPathOf: (p: string) => string): Promise<number>;
  caseId: string | null;
  events: CustodyEvent[];
  coveredSeq: number;
  /** Seqs of the custody lines elided to their hashes. */
  elided: number[];
  captureIds: string[];
  bagInfo: Map<string, string[]>;
}

/** package-seal.json, parsed, signed and timestamped; null (a failing check) when missing or unparsable. */
async function readSeal(ctx: SealContext): Promise<PackageSeal | null> {
  const { report: r, fileSet } = ctx;
  if (!fileSet.has(bagPaths.seal)) {
    r.fail(bagPaths.seal, 'package-seal', 'the package is not sealed as a whole: package-seal.json is missing (certificate, bag-info.txt and instructions are unprotected)');
    return null;
  }
  const bytes = await ctx.read(bagPaths.seal);
  let seal: PackageSeal;
  try {
    seal = PackageSeal.parse(JSON.parse(bytes.toString('utf8')));
  } catch (err) {
    r.fail(bagPaths.seal, 'package-seal', `not a package seal: ${errMsg(err)}`);
    return null;
  }
  if (ctx.caseId && seal.caseId !== ctx.caseId) r.fail(bagPaths.seal, 'package-seal', `seal is for case ${seal.caseId}, package is case ${ctx.caseId}`);
  const digest = sha256Digest(bytes);
  await ctx.checkSignature('package-seal.json', bagPaths.sealSig, bagPaths.sealSignature, digest);
  const tokens = ctx.files.filter((f) => /^package-seal\.timestamp-\d+\.tsr$/.test(f)).sort();
  await ctx.checkTokens(tokens, digest, bagPaths.seal, (t) => t.replace(/\.tsr$/, '.json'));
  return seal;
}

/** Every file, listed in the seal and unchanged. */
async function checkSealedFiles(ctx: SealContext, seal: PackageSeal): Promise<void> {
  const { report: r, fileSet } = ctx;
  const listed = new Map(seal.files.map((f) => [f.path, f.sha256]));
  let good = 0;
  for (const f of [...ctx.files].sort()) {
    if (unsealedByDesign(f)) continue;
    const want = listed.get(f);
    if (!want) {
      r.fail(f, 'package-seal', `${f} is not listed in package-seal.json (added after the package was sealed?)`);
      continue;
    }
    const got = await ctx.sha256Of(f);
    if (got !== want) r.fail(f, 'package-seal', `${f} changed after the package was sealed: it is ${got}, package-seal.json says ${want}`);
    else good++;
  }
  for (const p of listed.keys()) if (!fileSet.has(p)) r.fail(p, 'package-seal', `listed in package-seal.json but missing from the package`);
  r.pass(bagPaths.seal, 'package-seal-files', `${good} files match the seal`);
}

/** The content manifest the seal names; null (a failing check) when missing or unparsable. */
async function readContent(ctx: SealContext, seal: PackageSeal): Promise<{ content: PackageContentManifest; digest: string } | null> {
  const { report: r, fileSet } = ctx;
  const cp = bagPaths.contentManifest;
  if (!fileSet.has(cp)) {
    r.fail(cp, 'package-content', 'content manifest missing');
    return null;
  }
  const cbytes = await ctx.read(cp);
  const cdigest = sha256Digest(cbytes);
  if (cdigest !== seal.contentManifestDigest) r.fail(cp, 'package-content', `content manifest is ${cdigest}, the seal names ${seal.contentManifestDigest}`);
  let content: PackageContentManifest;
  try {
    content = PackageContentManifest.parse(JSON.parse(cbytes.toString('utf8')));
  } catch (err) {
    r.fail(cp, 'package-content', `not a package content manifest: ${errMsg(err)}`);
    return null;
  }
  if (content.packageId !== seal.packageId || content.caseId !== seal.caseId) r.fail(cp, 'package-content', `content manifest is for package ${content.packageId} of case ${content.caseId}, the seal for ${seal.packageId} of ${seal.caseId}`);
  return { content, digest: cdigest };
}

/** The `packaged` event the seal names must record this content manifest, under a signed, timestamped head. */
function checkPackagedEvent(ctx: SealContext, seal: PackageSeal, cdigest: string): CustodyEvent | undefined {
  const r = ctx.report;
  const cp = bagPaths.contentManifest;
  const ev = ctx.events.find((e) => e.seq === seal.packagedEventSeq);
  if (!ev || ev.action !== 'packaged' || ev.details.packageId !== seal.packageId) {
    r.fail(cp, 'package-custody', `the custody log has no packaged event ${seal.packagedEventSeq} for package ${seal.packageId}`);
  } else if (ev.details.contentManifestDigest !== cdigest) {
    r.fail(cp, 'package-custody', `the packaged event ${ev.seq} records content manifest ${String(ev.details.contentManifestDigest)}, the package holds ${cdigest}`);
  } else if (ev.seq > ctx.coveredSeq) {
    r.fail(cp, 'package-custody', `the packaged event ${ev.seq} is not covered by a signed and timestamped custody head in the package (the package is unsealed)`);
  } else {
    r.pass(cp, 'package-custody', `recorded by packaged event ${ev.seq}, covered by a signed and timestamped head`);
  }
  return ev;
}

/** The files and captures the content manifest lists are those the package holds; bag-info.txt states what it records. */
async function checkContent(ctx: SealContext, content: PackageContentManifest): Promise<void> {
  const { report: r, fileSet } = ctx;
  for (const f of content.files) {
    if (!fileSet.has(f.path)) r.fail(f.path, 'package-content', 'listed in the content manifest but missing');
    else if ((await ctx.sha256Of(f.path)) !== f.sha256) r.fail(f.path, 'package-content', `differs from the content manifest (${f.sha256})`);
  }
  const contentPaths = new Set(content.files.map((f) => f.path));
  for (const f of ctx.files) if (f.startsWith('data/captures/') && !contentPaths.has(f)) r.fail(f, 'package-content', 'capture file not in the content manifest');
  for (const f of ctx.files) if (f.startsWith('data/analysis/') && !contentPaths.has(f)) r.fail(f, 'package-content', 'analysis file not in the content manifest');
  const held = new Set(ctx.captureIds);
  const claimed = new Set(content.captureIds);
  for (const id of held) if (!claimed.has(id)) r.fail(bagPaths.captureDir(id), 'package-content', `capture ${id} is not in the content manifest`);
  for (const id of claimed) if (!held.has(id)) r.fail(bagPaths.captureDir(id), 'package-content', `content manifest lists capture ${id}, which the package does not hold`);

  // What bag-info.txt states must be what was recorded.
  const bases = ctx.bagInfo.get('Exhibit-Legal-Basis') ?? [];
  const want = content.facts.legalBases.length ? content.facts.legalBases : ['(none given)'];
  if (JSON.stringify(bases) !== JSON.stringify(want)) r.fail(bagPaths.bagInfo, 'package-content', `Exhibit-Legal-Basis is ${JSON.stringify(bases)}, the content manifest records ${JSON.stringify(want)}`);
}

/** A whole case holds every capture the log says was sealed before packaging, or says why not. */
function checkCompleteness(ctx: SealContext, content: PackageContentManifest, ev: CustodyEvent | undefined): void {
  const r = ctx.report;
  if (content.selection.kind === 'case' && ctx.elided.length) {
    r.fail(bagPaths.events, 'package-completeness', `a whole-case package must disclose its whole custody log, but event(s) ${ctx.elided.slice(0, 10).join(', ')}${ctx.elided.length > 10 ? ', …' : ''} are elided`);
  }
  if (content.selection.kind === 'case' && ev) {
    const held = new Set(ctx.captureIds);
    const omitted = new Map(content.omitted.map((o) => [o.captureId, o.reason]));
    const upTo = Math.min(ev.seq - 1, content.sealedThroughSeq);
    const sealed = new Set(ctx.events.filter((e) => e.action === 'manifest-signed' && e.seq <= upTo && e.subject.captureId).map((e) => e.subject.captureId!));
    for (const id of [...sealed].sort()) {
      if (held.has(id)) continue;
      if (omitted.has(id)) r.pass(bagPaths.captureDir(id), 'package-completeness', `sealed capture ${id} left out: ${omitted.get(id)}`);
      else r.fail(bagPaths.captureDir(id), 'package-completeness', `capture ${id} was sealed (manifest-signed in the custody log) but this whole-case package neither holds it nor says why it is left out`);
    }
  } else if (content.selection.kind === 'captures') {
    r.pass(bagPaths.contentManifest, 'package-selection', `a selection of ${content.selection.captureIds.length} capture(s), not the whole case`);
  }
}

export async function verifyPackageSeal(ctx: SealContext): Promise<void> {
  const seal = await readSeal(ctx);
  if (!seal) return;
  await checkSealedFiles(ctx, seal);
  const c = await readContent(ctx, seal);
  if (!c) return;
  const ev = checkPackagedEvent(ctx, seal, c.digest);
  await checkContent(ctx, c.content);
  checkCompleteness(ctx, c.content, ev);
}
