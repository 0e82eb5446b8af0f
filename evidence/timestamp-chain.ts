import * as pkijs from 'pkijs';
import { isoUtc } from '../lib/clock.js';
import { certificateDer, parseCertificates, readCertificates } from './certificates.js';
import { invalid } from './timestamp-token.js';

// The TSA certificate's chain to a trust anchor, as of the token's genTime, and its key usage.

const OID_EKU = '2.5.29.37';
const OID_EKU_TIMESTAMPING = '1.3.6.1.5.5.7.3.8';

/** A trust anchor or untrusted certificate: PEM text (one or more certificates), or PEM or DER bytes. */
export type CertificateSource = string | Uint8Array;

/** Where a certificate on the chain came from. */
export type CertificateOrigin = 'token' | 'untrusted' | 'anchor';

/** The certificates of a trust anchor or untrusted certificate source. */
export function certificatesFrom(source: CertificateSource, what: string): pkijs.Certificate[] {
  // PEM text keeps its old meaning (text without a certificate adds none); bytes may be PEM or DER.
  return typeof source === 'string' ? parseCertificates(source) : readCertificates(source, what);
}

export interface Candidate {
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
 * Every certificate that may be the signer or on its chain, each once: the anchors first, so a
 * certificate the caller pinned counts as an anchor even when the token carries it too.
 */
export function gatherCandidates(anchors: pkijs.Certificate[], tokenCerts: pkijs.Certificate[], untrusted: pkijs.Certificate[]): Candidate[] {
  const candidates: Candidate[] = [];
  const add = (cert: pkijs.Certificate, origin: CertificateOrigin) => {
    const der = certificateDer(cert);
    if (!candidates.some((c) => c.der.equals(der))) candidates.push({ cert, der, origin });
  };
  for (const c of anchors) add(c, 'anchor');
  for (const c of tokenCerts) add(c, 'token');
  for (const c of untrusted) add(c, 'untrusted');
  return candidates;
}

/**
 * The signer's certificate path as of `genTime`: to one of `anchors` (validated), or, without
 * anchors, its issuers among the candidates (for the report only).
 */
export async function certificatePathAt(signer: Candidate, anchors: pkijs.Certificate[], candidates: Candidate[], genTime: Date): Promise<Candidate[]> {
  const at = isoUtc(genTime);
  const validAt = (c: pkijs.Certificate) => c.notBefore.value <= genTime && genTime <= c.notAfter.value;
  if (!validAt(signer.cert)) {
    throw invalid(`TSA certificate was not valid at genTime ${at} (valid ${isoUtc(signer.cert.notBefore.value)} to ${isoUtc(signer.cert.notAfter.value)})`);
  }
  if (anchors.length === 0) return walkIssuers(signer, candidates);
  if (signer.origin === 'anchor') return [signer]; // the TSA certificate itself was pinned
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
  return r.certificatePath.map((cert) => {
    const der = certificateDer(cert);
    return candidates.find((c) => c.der.equals(der)) ?? { cert, der, origin: 'token' as const };
  });
}

/** EKU: critical, timeStamping (RFC 3161 §2.3). */
export function checkTimestampingEku(cert: pkijs.Certificate): void {
  const eku = cert.extensions?.find((x) => x.extnID === OID_EKU);
  const purposes = (eku?.parsedValue as pkijs.ExtKeyUsage | undefined)?.keyPurposes ?? [];
  if (!eku || !purposes.includes(OID_EKU_TIMESTAMPING)) throw invalid('TSA certificate lacks extendedKeyUsage timeStamping');
  if (!eku.critical) throw invalid('TSA certificate extendedKeyUsage is not critical');
}
