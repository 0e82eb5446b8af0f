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
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { isoUtc } from '../lib/clock.js';
import { ExhibitError, IntegrityError, PermanentError, TransientError } from '../lib/errors.js';
import { certificateDer, certificateToPem, describeCertificate, formatName, parseCertificates, readCertificates, type CertificateFacts } from './certificates.js';

export const IMPRINT_ALGORITHMS = ['sha256', 'sha384', 'sha512'] as const;
export type ImprintAlgorithm = (typeof IMPRINT_ALGORITHMS)[number];

const IMPRINT_OID: Record<ImprintAlgorithm, string> = {
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
};
const HEX_LENGTH: Record<ImprintAlgorithm, number> = { sha256: 64, sha384: 96, sha512: 128 };
const HASH_BY_OID: Record<string, string> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};
const OID_TSTINFO = '1.2.840.113549.1.9.16.1.4';
const OID_DATA = '1.2.840.113549.1.7.1';
const OID_CONTENT_TYPE_ATTR = '1.2.840.113549.1.9.3';
const OID_EKU = '2.5.29.37';
const OID_EKU_TIMESTAMPING = '1.3.6.1.5.5.7.3.8';
const OID_SIGNING_CERT = '1.2.840.113549.1.9.16.2.12';
const OID_SIGNING_CERT_V2 = '1.2.840.113549.1.9.16.2.47';

/** A trust anchor or untrusted certificate: PEM text (one or more certificates), or PEM or DER bytes. */
export type CertificateSource = string | Uint8Array;

/** Where a certificate on the chain came from. */
export type CertificateOrigin = 'token' | 'untrusted' | 'anchor';

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
  tokenForm: 'TimeStampResp' | 'TimeStampToken';
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

const invalid = (message: string, cause?: unknown) => new IntegrityError('TIMESTAMP_INVALID', message, { cause });

function hex(view: ArrayBuffer | Uint8Array): string {
  return Buffer.from(view instanceof Uint8Array ? view : new Uint8Array(view)).toString('hex');
}

function certificatesFrom(source: CertificateSource, what: string): pkijs.Certificate[] {
  // PEM text keeps its old meaning (text without a certificate adds none); bytes may be PEM or DER.
  return typeof source === 'string' ? parseCertificates(source) : readCertificates(source, what);
}

/** The TimeStampToken ContentInfo of a TimeStampResp (status granted) or of a bare token. */
export function openTimestampToken(bytes: Uint8Array): { form: TimestampFacts['tokenForm']; token: pkijs.ContentInfo } {
  const asn = asn1js.fromBER(new Uint8Array(bytes));
  const top = asn.result;
  if (asn.offset === -1 || !(top instanceof asn1js.Sequence)) throw invalid('not a DER TimeStampResp or TimeStampToken');
  if (asn.offset !== bytes.byteLength) throw invalid(`${bytes.byteLength - asn.offset} bytes follow the DER token`);
  const first = top.valueBlock.value[0];
  if (first instanceof asn1js.ObjectIdentifier) {
    try {
      return { form: 'TimeStampToken', token: new pkijs.ContentInfo({ schema: top }) };
    } catch (cause) {
      throw invalid('not a DER TimeStampResp or TimeStampToken', cause);
    }
  }
  let resp: pkijs.TimeStampResp;
  try {
    resp = new pkijs.TimeStampResp({ schema: top });
  } catch (cause) {
    throw invalid('not a DER TimeStampResp or TimeStampToken', cause);
  }
  const status = resp.status.status;
  if (status !== pkijs.PKIStatus.granted && status !== pkijs.PKIStatus.grantedWithMods) {
    const text = (resp.status.statusStrings ?? []).map((s) => s.valueBlock.value).join('; ');
    const err = `TSA did not grant the request: status ${status}${text ? ` (${text})` : ''}`;
    if (status === pkijs.PKIStatus.waiting) throw new TransientError('TIMESTAMP_FAILED', err);
    throw new PermanentError('TIMESTAMP_FAILED', err);
  }
  if (!resp.timeStampToken) throw invalid('status granted but no timeStampToken');
  return { form: 'TimeStampResp', token: resp.timeStampToken };
}

interface EssCertId {
  hashAlgorithm: string;
  certHash: Buffer;
  issuerSerial: pkijs.IssuerSerial | null;
}

/** The first ESSCertID(v2) of each signing-certificate attribute: it names the signer (RFC 2634 §5.4, RFC 5035). */
function essSignerIds(signerInfo: pkijs.SignerInfo): { v1: EssCertId | null; v2: EssCertId | null } {
  const attrs = signerInfo.signedAttrs?.attributes ?? [];
  const read = (oid: string, v2: boolean): EssCertId | null => {
    const found = attrs.filter((a) => a.type === oid);
    if (found.length === 0) return null;
    if (found.length > 1 || found[0]!.values.length !== 1) throw invalid(`token has more than one ${v2 ? 'ESSCertIDv2' : 'ESSCertID'} signing-certificate attribute`);
    try {
      const signingCert = found[0]!.values[0] as asn1js.Sequence;
      const certs = signingCert.valueBlock.value[0] as asn1js.Sequence;
      const first = certs.valueBlock.value[0] as asn1js.Sequence;
      const parts = [...first.valueBlock.value];
      let hashAlgorithm = v2 ? 'sha256' : 'sha1';
      if (v2 && parts[0] instanceof asn1js.Sequence) {
        const algId = new pkijs.AlgorithmIdentifier({ schema: parts.shift()! });
        hashAlgorithm = HASH_BY_OID[algId.algorithmId] ?? algId.algorithmId;
      }
      const hash = parts.shift();
      if (!(hash instanceof asn1js.OctetString)) throw new Error('certHash is not an OCTET STRING');
      const serial = parts.shift();
      return { hashAlgorithm, certHash: Buffer.from(hash.valueBlock.valueHexView), issuerSerial: serial ? new pkijs.IssuerSerial({ schema: serial }) : null };
    } catch (cause) {
      throw invalid(`token ${v2 ? 'ESSCertIDv2' : 'ESSCertID'} signing-certificate attribute is malformed`, cause);
    }
  };
  return { v1: read(OID_SIGNING_CERT, false), v2: read(OID_SIGNING_CERT_V2, true) };
}

function matchesEss(der: Buffer, cert: pkijs.Certificate, id: EssCertId): boolean {
  if (!['sha1', 'sha256', 'sha384', 'sha512'].includes(id.hashAlgorithm)) throw invalid(`ESS certificate hash algorithm ${id.hashAlgorithm} is not supported`);
  if (!createHash(id.hashAlgorithm).update(der).digest().equals(id.certHash)) return false;
  if (!id.issuerSerial) return true;
  const names = id.issuerSerial.issuer.names;
  const issuerOk = names.some((n) => n.type === 4 && cert.issuer.isEqual(n.value as pkijs.RelativeDistinguishedNames));
  return issuerOk && cert.serialNumber.isEqual(id.issuerSerial.serialNumber);
}

/** The SignerInfo's own identifier names `cert`. */
async function sidNames(signerInfo: pkijs.SignerInfo, cert: pkijs.Certificate): Promise<boolean> {
  const sid = signerInfo.sid;
  if (sid instanceof pkijs.IssuerAndSerialNumber) return cert.issuer.isEqual(sid.issuer) && cert.serialNumber.isEqual(sid.serialNumber);
  // subjectKeyIdentifier: compare with the certificate's SKI extension, or the SHA-1 of its key (RFC 5280 §4.2.1.2 method 1).
  const s = sid as asn1js.Constructed & asn1js.Primitive;
  const keyId = Buffer.from(s.idBlock.isConstructed ? (s.valueBlock.value[0] as asn1js.OctetString).valueBlock.valueHexView : s.valueBlock.valueHexView);
  const ski = cert.extensions?.find((x) => x.extnID === '2.5.29.14')?.parsedValue as asn1js.OctetString | undefined;
  if (ski && Buffer.from(ski.valueBlock.valueHexView).equals(keyId)) return true;
  return createHash('sha1').update(cert.subjectPublicKeyInfo.subjectPublicKey.valueBlock.valueHexView).digest().equals(keyId);
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

interface Candidate {
  cert: pkijs.Certificate;
  der: Buffer;
  origin: CertificateOrigin;
}

/** Issuers of the signer among the candidates, by name and signature (no anchor: for the report only). */
async function walkIssuers(signer: Candidate, pool: Candidate[]): Promise<Candidate[]> {
  const path = [signer];
  for (let cur = signer; path.length < 10; ) {
    if (cur.cert.subject.isEqual(cur.cert.issuer)) break;
    let next: Candidate | undefined;
    for (const c of pool) {
      if (path.some((p) => p.der.equals(c.der)) || !c.cert.subject.isEqual(cur.cert.issuer)) continue;
      if (await cur.cert.verify(c.cert).catch(() => false)) {
        next = c;
        break;
      }
    }
    if (!next) break;
    path.push(next);
    cur = next;
  }
  return path;
}

/**
 * Check a timestamp token (a TimeStampResp as received, or a bare TimeStampToken) against an
 * artifact and trust anchors. Works offline. Throws IntegrityError TIMESTAMP_INVALID naming what is
 * wrong; PermanentError TIMESTAMP_FAILED when the TSA refused; PermanentError INVALID_INPUT for a
 * malformed digest or nothing to compare the imprint with.
 */
export async function verifyTimestampToken(tsr: Uint8Array, opts: VerifyTimestampOptions): Promise<TimestampFacts> {
  const { form, token } = openTimestampToken(tsr);
  if (token.contentType !== pkijs.ContentInfo.SIGNED_DATA) throw invalid(`token content type ${token.contentType} is not SignedData`);
  let signed: pkijs.SignedData;
  let tst: pkijs.TSTInfo;
  try {
    signed = new pkijs.SignedData({ schema: token.content });
    if (signed.encapContentInfo.eContentType !== OID_TSTINFO) throw invalid(`encapsulated content ${signed.encapContentInfo.eContentType} is not TSTInfo`);
    const eContent = signed.encapContentInfo.eContent;
    if (!eContent) throw invalid('token has no encapsulated TSTInfo');
    tst = pkijs.TSTInfo.fromBER(eContent.getValue());
  } catch (cause) {
    if (cause instanceof ExhibitError) throw cause;
    throw invalid('token is not a well-formed SignedData/TSTInfo', cause);
  }

  // Imprint, under the token's own algorithm.
  const imprintOid = tst.messageImprint.hashAlgorithm.algorithmId;
  const allowed = opts.imprintAlgorithms ?? IMPRINT_ALGORITHMS;
  const alg = allowed.find((a) => IMPRINT_OID[a] === imprintOid);
  if (!alg) throw invalid(`imprint algorithm ${HASH_BY_OID[imprintOid] ?? imprintOid} is not one of ${allowed.join(', ')}`);
  const gotHex = hex(tst.messageImprint.hashedMessage.valueBlock.valueHexView);
  if (gotHex.length !== HEX_LENGTH[alg]) throw invalid(`message imprint is ${gotHex.length / 2} bytes, not a ${alg} digest`);
  const wantHex = await expectedImprint(alg, opts);
  if (gotHex !== wantHex) throw invalid(`message imprint mismatch: token covers ${alg}:${gotHex}, expected ${alg}:${wantHex}`);

  const nonce = tst.nonce ? hex(tst.nonce.valueBlock.valueHexView) : null;
  if (opts.nonce !== undefined && nonce !== opts.nonce) throw invalid(`nonce mismatch: sent ${opts.nonce}, token has ${nonce ?? 'none'}`);
  if (opts.policy !== undefined && tst.policy !== opts.policy) throw invalid(`policy mismatch: asked for ${opts.policy}, token has ${tst.policy}`);

  const anchors = opts.trustAnchors.flatMap((s) => certificatesFrom(s, 'trust anchor'));
  if (anchors.length === 0 && !opts.allowUnanchored) throw invalid('no trust anchors configured for timestamp verification');

  // Candidates for signer and chain, each once; a certificate the caller pinned counts as an anchor
  // even when the token carries it too.
  const candidates: Candidate[] = [];
  const add = (cert: pkijs.Certificate, origin: CertificateOrigin) => {
    const der = certificateDer(cert);
    if (!candidates.some((c) => c.der.equals(der))) candidates.push({ cert, der, origin });
  };
  const tokenCerts = (signed.certificates ?? []).filter((c): c is pkijs.Certificate => c instanceof pkijs.Certificate);
  for (const c of anchors) add(c, 'anchor');
  for (const c of tokenCerts) add(c, 'token');
  for (const c of (opts.untrusted ?? []).flatMap((s) => certificatesFrom(s, 'untrusted certificate'))) add(c, 'untrusted');

  // The signer is the certificate the signed ESS attribute names, wherever it sits.
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

  // CMS signature with exactly that certificate. pkijs re-checks a TSTInfo imprint only against the
  // original data (we checked the imprint above); verify as plain signed data after checking the
  // signed content-type attribute says TSTInfo (pkijs only checks that it exists).
  const ctAttr = signerInfo.signedAttrs?.attributes.find((a) => a.type === OID_CONTENT_TYPE_ATTR);
  const ctValue = (ctAttr?.values[0] as asn1js.ObjectIdentifier | undefined)?.valueBlock?.toString();
  if (ctValue !== OID_TSTINFO) throw invalid(`signed content-type attribute is ${ctValue ?? 'missing'}, not TSTInfo`);
  signed.certificates = [signer.cert];
  signed.encapContentInfo.eContentType = OID_DATA;
  try {
    const result = await signed.verify({ signer: 0, checkChain: false, extendedMode: true });
    if (!result.signatureVerified) throw invalid('token signature does not verify');
  } catch (cause) {
    if (cause instanceof ExhibitError) throw cause;
    const e = cause as Partial<pkijs.SignedDataVerifyResult> & { message?: string };
    if (e.signatureVerified === false) throw invalid('token signature does not verify', cause);
    throw invalid(`token verification failed: ${e.message ?? String(cause)}`, cause);
  }

  // Chain, as of genTime.
  const genTime = tst.genTime;
  const at = isoUtc(genTime);
  const validAt = (c: pkijs.Certificate) => c.notBefore.value <= genTime && genTime <= c.notAfter.value;
  if (!validAt(signer.cert)) {
    throw invalid(`TSA certificate was not valid at genTime ${at} (valid ${isoUtc(signer.cert.notBefore.value)} to ${isoUtc(signer.cert.notAfter.value)})`);
  }
  let path: Candidate[];
  if (anchors.length === 0) {
    path = await walkIssuers(signer, candidates);
  } else if (signer.origin === 'anchor') {
    path = [signer]; // the TSA certificate itself was pinned
  } else {
    const engine = new pkijs.CertificateChainValidationEngine({
      trustedCerts: anchors,
      certs: [...candidates.filter((c) => c.origin !== 'anchor' && c !== signer).map((c) => c.cert), signer.cert],
      checkDate: genTime,
    });
    let r: pkijs.CertificateChainValidationEngineVerifyResult;
    try {
      r = await engine.verify();
    } catch (cause) {
      const msg = (cause as { resultMessage?: string; message?: string }).resultMessage ?? (cause as Error).message;
      throw invalid(`TSA certificate does not chain to a trusted CA at genTime ${at}: ${msg}`, cause);
    }
    if (!r.result || !r.certificatePath) throw invalid(`TSA certificate does not chain to a trusted CA at genTime ${at}: ${r.resultMessage}`);
    path = r.certificatePath.map((cert) => {
      const der = certificateDer(cert);
      return candidates.find((c) => c.der.equals(der)) ?? { cert, der, origin: 'token' as const };
    });
  }

  // EKU: critical, timeStamping (RFC 3161 §2.3).
  const eku = signer.cert.extensions?.find((x) => x.extnID === OID_EKU);
  const purposes = (eku?.parsedValue as pkijs.ExtKeyUsage | undefined)?.keyPurposes ?? [];
  if (!eku || !purposes.includes(OID_EKU_TIMESTAMPING)) throw invalid('TSA certificate lacks extendedKeyUsage timeStamping');
  if (!eku.critical) throw invalid('TSA certificate extendedKeyUsage is not critical');

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
