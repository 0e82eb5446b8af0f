/**
 * Offline verification of RFC 3161 timestamp tokens from any authority (pkijs + asn1js).
 *
 * Accepts a TimeStampResp (`.tsr` as a TSA answers) or a bare TimeStampToken (the CMS ContentInfo).
 * Checks: status granted; content type id-ct-TSTInfo (encapsulated and in the signed content-type
 * attribute); the message imprint, in any allowed algorithm (SHA-256/384/512), equals the artifact's
 * digest under that algorithm; nonce and policy when the caller knows them; the signer certificate,
 * found by the ESS signing-certificate attribute (v1: SHA-1 hash, v2: any hash; issuer and serial
 * when given) among the token's certificates, the caller's untrusted certificates and the anchors —
 * never by its position, so extra or look-alike certificates in the token are ignored; the SignerInfo
 * names that same certificate; the CMS signature; the chain to a trust anchor as of genTime (a TSA
 * certificate that expired since still vouches for a token made while it was valid, and the facts
 * say so); extendedKeyUsage critical timeStamping. Revocation is not checked (no network).
 *
 * `openssl ts -verify -data <file> -in x.tsr -CAfile ca.pem [-untrusted chain.pem] [-attime <genTime>]`
 * checks the same token independently.
 */
import { createHash } from 'node:crypto';
import * as pkijs from 'pkijs';
import { isoUtc } from '../lib/clock.js';
import { PermanentError } from '../lib/errors.js';
import { certificateDer, certificateToPem, describeCertificate, formatName, type CertificateFacts } from './certificates.js';
import { certificatePathAt, certificatesFrom, checkTimestampingEku, gatherCandidates, type Candidate, type CertificateOrigin, type CertificateSource } from './timestamp-chain.js';
import { checkTokenSignature, essSignerIds, HASH_BY_OID, HEX_LENGTH, hex, IMPRINT_ALGORITHMS, IMPRINT_OID, invalid, matchesEss, openTimestampToken, readTstInfo, sidNames, type EssCertId, type ImprintAlgorithm, type TokenForm } from './timestamp-token.js';

export { IMPRINT_ALGORITHMS, openTimestampToken, type ImprintAlgorithm } from './timestamp-token.js';
export type { CertificateOrigin, CertificateSource } from './timestamp-chain.js';

export interface ChainCertificate extends CertificateFacts {
  origin: CertificateOrigin;
  /** Past its notAfter at the verification's `now`; it was valid at genTime. */
  expiredSince: boolean;
}

/** Facts of a verified token. */
export interface TimestampFacts {
  genTime: string;
  serialNumber: string;
  policy: string;
  tsaName: string | null;
  nonce: string | null;
  /** Algorithm of the message imprint the token covers. */
  imprintAlgorithm: ImprintAlgorithm;
  /** `<algorithm>:<hex>` the token covers. */
  messageImprint: string;
  /** Whether the input was a whole TimeStampResp or a bare TimeStampToken. */
  tokenForm: TokenForm;
  /** The chain ends at a trust anchor the caller gave; false only with `allowUnanchored`. */
  anchored: boolean;
  signerSubject: string;
  signerCertSha256: string;
  /** The signer certificate, PEM (for packaging). */
  signerCertPem: string;
  /** The ESS attribute that named the signer. */
  signerIdentifiedBy: { attribute: 'ESSCertID' | 'ESSCertIDv2' | 'ESSCertID+ESSCertIDv2'; hashAlgorithm: string; issuerSerial: boolean };
  /** Signer first; with an anchor, the anchor last. */
  chain: ChainCertificate[];
  /** The time the chain was validated at (genTime). */
  chainValidatedAt: string;
  /** Some certificate on the chain has expired since genTime (as of `checkedAt`). */
  expiredSinceGenTime: boolean;
  checkedAt: string;
  /** Certificates carried in the token that are not on the chain (ignored). */
  ignoredCertificates: CertificateFacts[];
}

export interface VerifyTimestampOptions {
  /** A digest of the artifact, `<sha256|sha384|sha512>:<hex>`; used when the token's imprint has that algorithm. */
  digest?: string;
  /** Digests of the artifact by algorithm (`<hex>` or `<alg>:<hex>`). */
  digests?: Partial<Record<ImprintAlgorithm, string>>;
  /** The artifact itself, hashed under the token's algorithm when no digest for it was given; a function is called once and its chunks hashed as they come. */
  data?: Uint8Array | (() => AsyncIterable<Uint8Array>);
  /** Trust anchors: the chain must end at one of these. */
  trustAnchors: CertificateSource[];
  /** Extra untrusted certificates for building the chain (needed when the token carries none). */
  untrusted?: CertificateSource[];
  /** Nonce we sent (hex); checked when given. */
  nonce?: string;
  /** Policy OID we asked for; checked when given. */
  policy?: string;
  /** Imprint algorithms accepted. @defaultValue IMPRINT_ALGORITHMS */
  imprintAlgorithms?: readonly ImprintAlgorithm[];
  /** With no trust anchors, check everything else and return `anchored: false` instead of failing. @defaultValue false */
  allowUnanchored?: boolean;
  /** The time to report expiry against ("expired since genTime"). @defaultValue the current time */
  now?: Date;
}

async function digestOf(alg: ImprintAlgorithm, data: NonNullable<VerifyTimestampOptions['data']>): Promise<string> {
  const h = createHash(alg);
  if (data instanceof Uint8Array) h.update(data);
  else for await (const chunk of data()) h.update(chunk);
  return h.digest('hex');
}

function parseDigest(value: string, alg?: ImprintAlgorithm): { alg: ImprintAlgorithm; hex: string } {
  const m = /^(?:(sha256|sha384|sha512):)?([0-9a-f]+)$/.exec(value);
  const a = (m?.[1] ?? alg) as ImprintAlgorithm | undefined;
  if (!m || !a || (alg && a !== alg) || m[2]!.length !== HEX_LENGTH[a]) {
    throw new PermanentError('INVALID_INPUT', `expected ${alg ?? 'sha256|sha384|sha512'}:<hex digest>, got ${JSON.stringify(value)}`);
  }
  return { alg: a, hex: m[2]! };
}

/** The artifact's digest under `alg`, from what the caller gave. */
async function expectedImprint(alg: ImprintAlgorithm, opts: VerifyTimestampOptions): Promise<string> {
  const given = new Map<ImprintAlgorithm, string>();
  if (opts.digest !== undefined) {
    const d = parseDigest(opts.digest);
    given.set(d.alg, d.hex);
  }
  for (const a of IMPRINT_ALGORITHMS) {
    const v = opts.digests?.[a];
    if (v !== undefined) given.set(a, parseDigest(v, a).hex);
  }
  const known = given.get(alg);
  if (known) return known;
  if (opts.data) return digestOf(alg, opts.data);
  if (given.size === 0) throw new PermanentError('INVALID_INPUT', 'nothing to check the message imprint against: give the artifact or its digest');
  throw invalid(`token imprint is ${alg}, but only a ${[...given.keys()].join('/')} digest of the artifact was given; give the artifact or its ${alg} digest`);
}

/** The token's imprint, under its own algorithm, equals the artifact's digest under that algorithm. */
async function checkImprint(tst: pkijs.TSTInfo, opts: VerifyTimestampOptions): Promise<{ alg: ImprintAlgorithm; gotHex: string }> {
  const imprintOid = tst.messageImprint.hashAlgorithm.algorithmId;
  const allowed = opts.imprintAlgorithms ?? IMPRINT_ALGORITHMS;
  const alg = allowed.find((a) => IMPRINT_OID[a] === imprintOid);
  if (!alg) throw invalid(`imprint algorithm ${HASH_BY_OID[imprintOid] ?? imprintOid} is not one of ${allowed.join(', ')}`);
  const gotHex = hex(tst.messageImprint.hashedMessage.valueBlock.valueHexView);
  if (gotHex.length !== HEX_LENGTH[alg]) throw invalid(`message imprint is ${gotHex.length / 2} bytes, not a ${alg} digest`);
  const wantHex = await expectedImprint(alg, opts);
  if (gotHex !== wantHex) throw invalid(`message imprint mismatch: token covers ${alg}:${gotHex}, expected ${alg}:${wantHex}`);
  return { alg, gotHex };
}

/** The signer: the certificate the signed ESS attribute names, wherever it sits; the SignerInfo must name it too. */
async function findSigner(signed: pkijs.SignedData, candidates: Candidate[], tokenCerts: pkijs.Certificate[], opts: VerifyTimestampOptions): Promise<{ signer: Candidate; signerInfo: pkijs.SignerInfo; ess: { v1: EssCertId | null; v2: EssCertId | null } }> {
  if (signed.signerInfos.length !== 1) throw invalid(`token has ${signed.signerInfos.length} signers; a timestamp token has exactly one`);
  const signerInfo = signed.signerInfos[0]!;
  const ess = essSignerIds(signerInfo);
  if (!ess.v1 && !ess.v2) throw invalid('token has no ESSCertID/ESSCertIDv2 signing-certificate attribute');
  const signer = candidates.find((c) => (!ess.v1 || matchesEss(c.der, c.cert, ess.v1)) && (!ess.v2 || matchesEss(c.der, c.cert, ess.v2)));
  if (!signer) {
    throw invalid(tokenCerts.length === 0 && !opts.untrusted?.length
      ? 'the token carries no certificates and none were supplied: give the TSA certificate as an untrusted certificate'
      : 'no certificate in the token or supplied matches the ESS signing-certificate attribute: the signer is unknown');
  }
  if (!(await sidNames(signerInfo, signer.cert))) throw invalid('the SignerInfo names a different certificate than the ESS signing-certificate attribute');
  return { signer, signerInfo, ess };
}

/**
 * Check a timestamp token (a TimeStampResp as received, or a bare TimeStampToken) against an
 * artifact and trust anchors. Works offline. Throws IntegrityError TIMESTAMP_INVALID naming what is
 * wrong; PermanentError TIMESTAMP_FAILED when the TSA refused; PermanentError INVALID_INPUT for a
 * malformed digest or nothing to compare the imprint with.
 */
export async function verifyTimestampToken(tsr: Uint8Array, opts: VerifyTimestampOptions): Promise<TimestampFacts> {
  const { form, token } = openTimestampToken(tsr);
  const { signed, tst } = readTstInfo(token);
  const { alg, gotHex } = await checkImprint(tst, opts);

  const nonce = tst.nonce ? hex(tst.nonce.valueBlock.valueHexView) : null;
  if (opts.nonce !== undefined && nonce !== opts.nonce) throw invalid(`nonce mismatch: sent ${opts.nonce}, token has ${nonce ?? 'none'}`);
  if (opts.policy !== undefined && tst.policy !== opts.policy) throw invalid(`policy mismatch: asked for ${opts.policy}, token has ${tst.policy}`);

  const anchors = opts.trustAnchors.flatMap((s) => certificatesFrom(s, 'trust anchor'));
  if (anchors.length === 0 && !opts.allowUnanchored) throw invalid('no trust anchors configured for timestamp verification');
  const tokenCerts = (signed.certificates ?? []).filter((c): c is pkijs.Certificate => c instanceof pkijs.Certificate);
  const untrusted = (opts.untrusted ?? []).flatMap((s) => certificatesFrom(s, 'untrusted certificate'));
  const candidates = gatherCandidates(anchors, tokenCerts, untrusted);
  const { signer, signerInfo, ess } = await findSigner(signed, candidates, tokenCerts, opts);
  await checkTokenSignature(signed, signerInfo, signer.cert);
  const path = await certificatePathAt(signer, anchors, candidates, tst.genTime);
  checkTimestampingEku(signer.cert);

  const at = isoUtc(tst.genTime);
  const now = opts.now ?? new Date();
  const chain = path.map((c) => ({ ...describeCertificate(c.cert), origin: c.origin, expiredSince: c.cert.notAfter.value < now }));
  const id = ess.v2 ?? ess.v1!;
  const tsaName = tst.tsa && tst.tsa.type === 4 ? formatName(tst.tsa.value as pkijs.RelativeDistinguishedNames) : null;
  return {
    genTime: at,
    serialNumber: hex(tst.serialNumber.valueBlock.valueHexView),
    policy: tst.policy,
    tsaName,
    nonce,
    imprintAlgorithm: alg,
    messageImprint: `${alg}:${gotHex}`,
    tokenForm: form,
    anchored: anchors.length > 0,
    signerSubject: formatName(signer.cert.subject),
    signerCertSha256: `sha256:${createHash('sha256').update(signer.der).digest('hex')}`,
    signerCertPem: certificateToPem(signer.cert),
    signerIdentifiedBy: {
      attribute: ess.v1 && ess.v2 ? 'ESSCertID+ESSCertIDv2' : ess.v2 ? 'ESSCertIDv2' : 'ESSCertID',
      hashAlgorithm: id.hashAlgorithm,
      issuerSerial: id.issuerSerial !== null,
    },
    chain,
    chainValidatedAt: at,
    expiredSinceGenTime: chain.some((c) => c.expiredSince),
    checkedAt: isoUtc(now),
    ignoredCertificates: tokenCerts.filter((c) => !path.some((p) => p.der.equals(certificateDer(c)))).map(describeCertificate),
  };
}
