/**
 * X.509 certificates as the timestamp verifier needs them: read from PEM or DER, written as PEM,
 * named and described for reports. No trust decisions here.
 */
import { createHash } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { isoUtc } from '../lib/clock.js';
import { PermanentError } from '../lib/errors.js';

const NAME_OIDS: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.5': 'serialNumber',
  '2.5.4.97': 'organizationIdentifier',
  '1.2.840.113549.1.9.1': 'emailAddress',
};

/** A certificate in a report. */
export interface CertificateFacts {
  subject: string;
  issuer: string;
  /** Serial number, hex. */
  serialNumber: string;
  notBefore: string;
  notAfter: string;
  /** `sha256:<hex>` of the DER certificate. */
  sha256: string;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g;

/** Split PEM text into certificates (none when the text holds no PEM certificate). */
export function parseCertificates(pem: string): pkijs.Certificate[] {
  const out: pkijs.Certificate[] = [];
  for (const m of pem.matchAll(PEM_CERT)) out.push(pkijs.Certificate.fromBER(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64')));
  return out;
}

/**
 * Certificates from PEM text or bytes (one or more PEM blocks) or from one DER certificate.
 * Throws PermanentError INVALID_INPUT when `source` holds neither, naming `what`.
 */
export function readCertificates(source: string | Uint8Array, what = 'certificate file'): pkijs.Certificate[] {
  const bytes = typeof source === 'string' ? Buffer.from(source, 'utf8') : Buffer.from(source.buffer, source.byteOffset, source.byteLength);
  const text = bytes.toString('latin1');
  if (text.includes('-----BEGIN CERTIFICATE-----')) {
    try {
      return parseCertificates(text);
    } catch (cause) {
      throw new PermanentError('INVALID_INPUT', `${what}: a PEM certificate block does not decode`, { cause });
    }
  }
  // DER: one certificate, nothing after it (asn1js reports how far it read).
  const asn = asn1js.fromBER(new Uint8Array(bytes));
  if (asn.offset === -1 || asn.offset !== bytes.length) throw new PermanentError('INVALID_INPUT', `${what} holds no PEM or DER certificate`);
  try {
    return [new pkijs.Certificate({ schema: asn.result })];
  } catch (cause) {
    throw new PermanentError('INVALID_INPUT', `${what} holds no PEM or DER certificate`, { cause });
  }
}

export function certificateDer(cert: pkijs.Certificate): Buffer {
  return Buffer.from(cert.toSchema().toBER(false));
}

/** DER of a certificate as PEM text. */
export function certificateToPem(cert: pkijs.Certificate): string {
  const b64 = certificateDer(cert).toString('base64');
  return `-----BEGIN CERTIFICATE-----\n${b64.replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
}

/** `O=…, CN=…` in the order the name states its attributes. */
export function formatName(name: pkijs.RelativeDistinguishedNames): string {
  return name.typesAndValues
    .map((tv) => `${NAME_OIDS[tv.type] ?? tv.type}=${String((tv.value.valueBlock as { value?: unknown }).value ?? '')}`)
    .join(', ');
}

export function describeCertificate(cert: pkijs.Certificate): CertificateFacts {
  return {
    subject: formatName(cert.subject),
    issuer: formatName(cert.issuer),
    serialNumber: Buffer.from(cert.serialNumber.valueBlock.valueHexView).toString('hex'),
    notBefore: isoUtc(cert.notBefore.value),
    notAfter: isoUtc(cert.notAfter.value),
    sha256: `sha256:${createHash('sha256').update(certificateDer(cert)).digest('hex')}`,
  };
}
