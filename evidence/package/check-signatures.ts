/**
 * Signature and timestamp checks, shared by every subject that is signed (capture manifests,
 * custody heads, key rotations, the package seal). Keys and CA certificates in the package only
 * show that it is internally consistent; which of them are pinned is recorded on the TrustTracker,
 * which decides the verdict.
 */
import { createPublicKey, verify as edVerify } from 'node:crypto';
import { ExhibitError } from '../../lib/errors.js';
import { SignatureRecord, TimestampRecord } from '../../schemas/custody.js';
import { keyFingerprint } from '../keys.js';
import { digestBytes } from '../signing.js';
import { verifyTimestampToken } from '../timestamp.js';
import { parseCaCertificates } from '../trust.js';
import { errMsg, type BagContext } from './checks.js';
import { bagPaths } from './layout.js';
import type { TrustTracker } from './check-trust.js';

type TokenFacts = Awaited<ReturnType<typeof verifyTimestampToken>>;
type TokenAnchor = { info: ReturnType<typeof parseCaCertificates>[number]; pinned: boolean };

export class SignatureChecks {
  /** The root that worked for the last token is tried first: tokens of one TSA share it. */
  private lastAnchor = 0;

  private constructor(
    private readonly ctx: BagContext,
    private readonly trust: TrustTracker,
    private readonly tokenAnchors: TokenAnchor[],
    private readonly tsaPem: string,
  ) {}

  /** Read the package's TSA certificates; a CA file that does not parse, or no root at all, is a failing check. */
  static async open(ctx: BagContext, trust: TrustTracker): Promise<SignatureChecks> {
    const { fileSet, read, report: r } = ctx;
    const caPem = fileSet.has(bagPaths.tsaCa) ? (await read(bagPaths.tsaCa)).toString('utf8') : '';
    const tsaPem = fileSet.has(bagPaths.tsaCerts) ? (await read(bagPaths.tsaCerts)).toString('utf8') : '';
    // Tokens are checked against the pinned roots first, then against the package's own CA file: a
    // token that chains only to the latter is consistent, not authenticated.
    let packageCas: ReturnType<typeof parseCaCertificates> = [];
    try {
      packageCas = caPem ? parseCaCertificates(caPem) : [];
    } catch (err) {
      r.fail(bagPaths.tsaCa, 'tsa-ca', `not PEM certificates: ${errMsg(err)}`);
    }
    const pinnedCas = trust.anchors.tsaCas;
    const pinnedCaFps = new Set(pinnedCas.map((c) => c.fingerprint));
    const tokenAnchors = [...pinnedCas.map((c) => ({ info: c, pinned: true })), ...packageCas.filter((c) => !pinnedCaFps.has(c.fingerprint)).map((c) => ({ info: c, pinned: false }))];
    if (tokenAnchors.length === 0) r.fail(bagPaths.tsaCa, 'tsa-ca', 'no TSA root certificate in the package and none pinned');
    return new SignatureChecks(ctx, trust, tokenAnchors, tsaPem);
  }

  private async keyPem(fp: string): Promise<string | null> {
    return this.ctx.fileSet.has(bagPaths.key(fp)) ? (await this.ctx.read(bagPaths.key(fp))).toString('utf8') : null;
  }

  /** Signature by .sig + .signature.json over `digest`; the signer's fingerprint when it verifies. */
  readonly checkSignature = async (subject: string, sigPath: string, recordPath: string, digest: string, reliedOn = true): Promise<string | null> => {
    const { fileSet, read, report: r } = this.ctx;
    if (!fileSet.has(sigPath)) {
      r.fail(sigPath, 'signature', `${subject} is not signed: ${sigPath} missing`);
      return null;
    }
    if (!fileSet.has(recordPath)) {
      r.fail(recordPath, 'signature', 'signature record missing');
      return null;
    }
    let record: SignatureRecord;
    try {
      record = SignatureRecord.parse(JSON.parse((await read(recordPath)).toString('utf8')));
    } catch (err) {
      r.fail(recordPath, 'signature', `not a signature record: ${errMsg(err)}`);
      return null;
    }
    const raw = await read(sigPath);
    let ok = true;
    if (!raw.equals(Buffer.from(record.signature, 'base64'))) ok = r.fail(sigPath, 'signature', `${sigPath} and ${recordPath} hold different signatures`);
    if (record.signedDigest !== digest) ok = r.fail(recordPath, 'signature', `signature covers ${record.signedDigest}, but ${subject} hashes to ${digest}`);
    const pem = await this.keyPem(record.keyFingerprint);
    if (!pem) {
      r.fail(bagPaths.key(record.keyFingerprint), 'signature', `public key ${record.keyFingerprint} is not in the package`);
      return null;
    }
    try {
      const key = createPublicKey(pem);
      const fp = keyFingerprint(key);
      if (fp !== record.keyFingerprint) {
        r.fail(bagPaths.key(record.keyFingerprint), 'signature', `key file holds ${fp}, not ${record.keyFingerprint}`);
        return null;
      }
      // Whether this key is pinned decides the verdict, not this check: a key in the package is
      // only what the package claims.
      if (reliedOn) this.trust.signer(fp);
      if (edVerify(null, digestBytes(digest), key, raw)) {
        r.pass(sigPath, 'signature', `Ed25519 signature by ${fp} verifies over ${digest}`);
        return ok ? fp : null;
      }
      r.fail(sigPath, 'signature', `Ed25519 signature over ${digest} does not verify with key ${fp}`);
    } catch (err) {
      r.fail(sigPath, 'signature', `cannot check signature: ${errMsg(err)}`);
    }
    return null;
  };

  /** A token over `digest` checked against each root in turn; throws the last root's failure when none fits. */
  private async verifyToken(tsr: Buffer, digest: string): Promise<TokenFacts> {
    const anchors = this.tokenAnchors;
    const order = [this.lastAnchor, ...anchors.keys()].filter((i, k, all) => i < anchors.length && all.indexOf(i) === k);
    let lastErr: unknown = new Error('no TSA root to check the token against');
    for (const i of order) {
      try {
        const facts = await verifyTimestampToken(tsr, { digest, trustAnchors: [anchors[i]!.info.pem], untrusted: this.tsaPem ? [this.tsaPem] : [] });
        this.lastAnchor = i;
        this.trust.root(anchors[i]!.info);
        return facts;
      } catch (err) {
        lastErr = err;
      }
    }
    throw lastErr;
  }

  /** The timestamp record beside a token must state what the token does. */
  private async checkTimestampRecord(rp: string, facts: TokenFacts, digest: string): Promise<void> {
    const { fileSet, read, report: r } = this.ctx;
    if (!fileSet.has(rp)) return;
    try {
      const rec = TimestampRecord.parse(JSON.parse((await read(rp)).toString('utf8')));
      if (rec.genTime !== facts.genTime || rec.digest !== digest || rec.serialNumber !== facts.serialNumber) {
        r.fail(rp, 'timestamp-record', `record (${rec.genTime}, ${rec.digest}) disagrees with the token (${facts.genTime}, ${digest})`);
      }
    } catch (err) {
      r.fail(rp, 'timestamp-record', `not a timestamp record: ${errMsg(err)}`);
    }
  }

  /** Tokens over `digest`; how many verified. */
  readonly checkTokens = async (tokenPaths: string[], digest: string, subject: string, recordPathOf: (p: string) => string): Promise<number> => {
    const { read, report: r } = this.ctx;
    if (tokenPaths.length === 0) r.fail(subject, 'timestamp', `${subject} has no RFC 3161 timestamp token (unsealed)`);
    let verified = 0;
    for (const tp of tokenPaths) {
      try {
        const facts = await this.verifyToken(await read(tp), digest);
        await this.checkTimestampRecord(recordPathOf(tp), facts, digest);
        r.pass(tp, 'timestamp', `token over ${digest} by ${facts.tsaName ?? facts.signerSubject} at ${facts.genTime}`);
        verified++;
      } catch (err) {
        r.fail(tp, 'timestamp', err instanceof ExhibitError ? `${err.code}: ${err.message}` : errMsg(err));
      }
    }
    return verified;
  };
}
