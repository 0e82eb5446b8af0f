/**
 * The verdict of `verify`: which signing keys and TSA roots a package relies on, and whether each
 * is pinned. Keys reached through a rotation statement signed by a pinned key count as pinned
 * (source `rotation`); the chain is followed from pinned keys only.
 */
import { sha256Digest } from '../canonical.js';
import { KeyRotation } from '../../schemas/trust.js';
import type { TrustedParty, Verdict } from '../../schemas/custody.js';
import type { AnchorSource } from '../../schemas/trust.js';
import { bagPaths } from './layout.js';
import type { CertInfo, TrustAnchors } from '../trust.js';

/** How an anchor was pinned, in words. */
export function anchorSourceLabel(source: AnchorSource | null): string {
  switch (source) {
    case 'local-key-store':
      return 'local key store';
    case 'local-tsa-config':
      return 'local TSA configuration';
    case 'trust-store':
      return 'trust store';
    case 'rotation':
      return 'signed rotation from a pinned key';
    case 'flag':
      return 'command line';
    case 'partner':
      return 'partner pin set';
    default:
      return 'not pinned';
  }
}

export class TrustTracker {
  private readonly signers = new Set<string>();
  private readonly roots = new Map<string, CertInfo>();
  /** Rotations whose statement verified with the outgoing key: previous → next. */
  private readonly rotations: Array<{ previous: string; next: string }> = [];

  constructor(readonly anchors: TrustAnchors) {}

  /** A key whose signature the package relies on. */
  signer(fingerprint: string): void {
    this.signers.add(fingerprint);
  }

  /** A TSA root a token chained to. */
  root(info: CertInfo): void {
    this.roots.set(info.fingerprint, info);
  }

  rotation(previous: string, next: string): void {
    this.rotations.push({ previous, next });
  }

  /** Pinned keys, with those reached from them by signed rotations. */
  private pinnedKeys(): Map<string, AnchorSource> {
    const pinned = new Map<string, AnchorSource>(this.anchors.signingKeys.map((k) => [k.fingerprint, k.source]));
    for (let grew = true; grew; ) {
      grew = false;
      for (const r of this.rotations) {
        if (pinned.has(r.previous) && !pinned.has(r.next)) {
          pinned.set(r.next, 'rotation');
          grew = true;
        }
      }
    }
    return pinned;
  }

  private parties(): { signingKeys: TrustedParty[]; tsaRoots: TrustedParty[] } {
    const keys = this.pinnedKeys();
    const cas = new Map(this.anchors.tsaCas.map((c) => [c.fingerprint, c.source]));
    return {
      signingKeys: [...this.signers].sort().map((fp) => ({ fingerprint: fp, subject: null, pinned: keys.has(fp), source: keys.get(fp) ?? null })),
      tsaRoots: [...this.roots.values()].map((c) => ({ fingerprint: c.fingerprint, subject: c.subject, pinned: cas.has(c.fingerprint), source: cas.get(c.fingerprint) ?? null })),
    };
  }

  verdict(consistent: boolean): Verdict {
    if (!consistent) return 'failed';
    const { signingKeys, tsaRoots } = this.parties();
    const authenticated = signingKeys.length > 0 && tsaRoots.length > 0 && signingKeys.every((k) => k.pinned) && tsaRoots.every((t) => t.pinned);
    return authenticated ? 'verified' : 'unauthenticated';
  }

  report(verdict: Verdict): { signingKeys: TrustedParty[]; tsaRoots: TrustedParty[]; summary: string } {
    const p = this.parties();
    const how = (x: TrustedParty) => anchorSourceLabel(x.source);
    const lines: string[] = [];
    if (verdict === 'failed') lines.push('The package failed verification: see the failing checks.');
    else if (verdict === 'verified') lines.push('Authentic: every signature is by a pinned key and every timestamp chains to a pinned TSA root.');
    else lines.push('Internally consistent, but NOT authenticated: anyone can make a consistent package with their own key and a public TSA.');
    for (const k of p.signingKeys) lines.push(k.pinned ? `signing key ${k.fingerprint}: pinned (${how(k)})` : `signing key ${k.fingerprint}: NOT pinned — confirm this fingerprint with the sender out of band (phone, letter), then pass --signing-key or run "exhibit trust add --signing-key"`);
    for (const t of p.tsaRoots) lines.push(t.pinned ? `TSA root ${t.fingerprint} (${t.subject}): pinned (${how(t)})` : `TSA root ${t.fingerprint} (${t.subject}): NOT pinned — compare with the certificate the time-stamping authority publishes, then pass --tsa-ca or run "exhibit trust add --tsa-ca"`);
    return { ...p, summary: lines.join('\n') };
  }
}

interface RotationContext {
  files: string[];
  fileSet: Set<string>;
  read(p: string): Promise<Buffer>;
  report: { pass(item: string, check: string, message?: string): boolean; fail(item: string, check: string, message: string): boolean };
  checkSignature(subject: string, sigPath: string, recordPath: string, digest: string, reliedOn?: boolean): Promise<string | null>;
}

/**
 * Rotation statements carried under data/keys/rotations/: each must parse, be signed by the key it
 * names as `previous`, and sit under the name of its `next` key. Only verified ones are followed.
 */
export async function followRotations(ctx: RotationContext, trust: TrustTracker): Promise<void> {
  const statements = ctx.files.filter((f) => /^data\/keys\/rotations\/[0-9a-f]{64}\.json$/.test(f) && !f.endsWith('.signature.json')).sort();
  for (const sp of statements) {
    const bytes = await ctx.read(sp);
    let rot: KeyRotation;
    try {
      rot = KeyRotation.parse(JSON.parse(bytes.toString('utf8')));
    } catch (err) {
      ctx.report.fail(sp, 'key-rotation', `not a key rotation statement: ${(err as Error).message.slice(0, 300)}`);
      continue;
    }
    if (sp !== bagPaths.rotation(rot.next)) {
      ctx.report.fail(sp, 'key-rotation', `statement names new key ${rot.next}, but is stored as ${sp}`);
      continue;
    }
    // The signer must be the outgoing key, or the statement proves nothing about succession.
    const signer = await ctx.checkSignature(`rotation to ${rot.next}`, bagPaths.rotationSig(rot.next), bagPaths.rotationSignature(rot.next), sha256Digest(bytes), false);
    if (signer === null) continue;
    if (signer !== rot.previous) {
      ctx.report.fail(sp, 'key-rotation', `rotation from ${rot.previous} is signed by ${signer}, not by the outgoing key`);
      continue;
    }
    ctx.report.pass(sp, 'key-rotation', `key ${rot.previous} handed over to ${rot.next} at ${rot.time}`);
    trust.rotation(rot.previous, rot.next);
  }
}
