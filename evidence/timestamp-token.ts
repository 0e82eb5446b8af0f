import { createHash } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { ExhibitError, IntegrityError, PermanentError, TransientError } from '../lib/errors.js';

// Reading an RFC 3161 token: the TimeStampResp or bare token, its TSTInfo, the ESS attribute that
// names the signer, and the CMS signature (see timestamp-verify.ts for the whole check).

export const IMPRINT_ALGORITHMS = ['sha256', 'sha384', 'sha512'] as const;
export type ImprintAlgorithm = (typeof IMPRINT_ALGORITHMS)[number];

export const IMPRINT_OID: Record<ImprintAlgorithm, string> = {
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
};
export const HEX_LENGTH: Record<ImprintAlgorithm, number> = { sha256: 64, sha384: 96, sha512: 128 };
export const HASH_BY_OID: Record<string, string> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};
const OID_TSTINFO = '1.2.840.113549.1.9.16.1.4';
const OID_DATA = '1.2.840.113549.1.7.1';
const OID_CONTENT_TYPE_ATTR = '1.2.840.113549.1.9.3';
const OID_SIGNING_CERT = '1.2.840.113549.1.9.16.2.12';
const OID_SIGNING_CERT_V2 = '1.2.840.113549.1.9.16.2.47';

/** Whether the input was a whole TimeStampResp or a bare TimeStampToken. */
export type TokenForm = 'TimeStampResp' | 'TimeStampToken';

export const invalid = (message: string, cause?: unknown) => new IntegrityError('TIMESTAMP_INVALID', message, { cause });

export function hex(view: ArrayBuffer | Uint8Array): string {
  return Buffer.from(view instanceof Uint8Array ? view : new Uint8Array(view)).toString('hex');
}

/** The TimeStampToken ContentInfo of a TimeStampResp (status granted) or of a bare token. */
export function openTimestampToken(bytes: Uint8Array): { form: TokenForm; token: pkijs.ContentInfo } {
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

/** The SignedData of a token and the TSTInfo it encapsulates. */
export function readTstInfo(token: pkijs.ContentInfo): { signed: pkijs.SignedData; tst: pkijs.TSTInfo } {
  if (token.contentType !== pkijs.ContentInfo.SIGNED_DATA) throw invalid(`token content type ${token.contentType} is not SignedData`);
  try {
    const signed = new pkijs.SignedData({ schema: token.content });
    if (signed.encapContentInfo.eContentType !== OID_TSTINFO) throw invalid(`encapsulated content ${signed.encapContentInfo.eContentType} is not TSTInfo`);
    const eContent = signed.encapContentInfo.eContent;
    if (!eContent) throw invalid('token has no encapsulated TSTInfo');
    return { signed, tst: pkijs.TSTInfo.fromBER(eContent.getValue()) };
  } catch (cause) {
    if (cause instanceof ExhibitError) throw cause;
    throw invalid('token is not a well-formed SignedData/TSTInfo', cause);
  }
}

export interface EssCertId {
  hashAlgorithm: string;
  certHash: Buffer;
  issuerSerial: pkijs.IssuerSerial | null;
}

/** The first ESSCertID(v2) of each signing-certificate attribute: it names the signer (RFC 2634 §5.4, RFC 5035). */
export function essSignerIds(signerInfo: pkijs.SignerInfo): { v1: EssCertId | null; v2: EssCertId | null } {
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

export function matchesEss(der: Buffer, cert: pkijs.Certificate, id: EssCertId): boolean {
  if (!['sha1', 'sha256', 'sha384', 'sha512'].includes(id.hashAlgorithm)) throw invalid(`ESS certificate hash algorithm ${id.hashAlgorithm} is not supported`);
  if (!createHash(id.hashAlgorithm).update(der).digest().equals(id.certHash)) return false;
  if (!id.issuerSerial) return true;
  const names = id.issuerSerial.issuer.names;
  const issuerOk = names.some((n) => n.type === 4 && cert.issuer.isEqual(n.value as pkijs.RelativeDistinguishedNames));
  return issuerOk && cert.serialNumber.isEqual(id.issuerSerial.serialNumber);
}

/** The SignerInfo's own identifier names `cert`. */
export async function sidNames(signerInfo: pkijs.SignerInfo, cert: pkijs.Certificate): Promise<boolean> {
  const sid = signerInfo.sid;
  if (sid instanceof pkijs.IssuerAndSerialNumber) return cert.issuer.isEqual(sid.issuer) && cert.serialNumber.isEqual(sid.serialNumber);
  // subjectKeyIdentifier: compare with the certificate's SKI extension, or the SHA-1 of its key (RFC 5280 §4.2.1.2 method 1).
  const s = sid as asn1js.Constructed & asn1js.Primitive;
  const keyId = Buffer.from(s.idBlock.isConstructed ? (s.valueBlock.value[0] as asn1js.OctetString).valueBlock.valueHexView : s.valueBlock.valueHexView);
  const ski = cert.extensions?.find((x) => x.extnID === '2.5.29.14')?.parsedValue as asn1js.OctetString | undefined;
  if (ski && Buffer.from(ski.valueBlock.valueHexView).equals(keyId)) return true;
  return createHash('sha1').update(cert.subjectPublicKeyInfo.subjectPublicKey.valueBlock.valueHexView).digest().equals(keyId);
}

/**
 * The CMS signature, with exactly `signerCert`. pkijs re-checks a TSTInfo imprint only against the
 * original data (the caller checked the imprint); verify as plain signed data after checking the
 * signed content-type attribute says TSTInfo (pkijs only checks that it exists). Changes `signed`.
 */
export async function checkTokenSignature(signed: pkijs.SignedData, signerInfo: pkijs.SignerInfo, signerCert: pkijs.Certificate): Promise<void> {
  const ctAttr = signerInfo.signedAttrs?.attributes.find((a) => a.type === OID_CONTENT_TYPE_ATTR);
  const ctValue = (ctAttr?.values[0] as asn1js.ObjectIdentifier | undefined)?.valueBlock?.toString();
  if (ctValue !== OID_TSTINFO) throw invalid(`signed content-type attribute is ${ctValue ?? 'missing'}, not TSTInfo`);
  signed.certificates = [signerCert];
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
}
