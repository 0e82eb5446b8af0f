import { randomBytes, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import * as tls from 'node:tls';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';

/**
 * A per-process certificate authority for the recording proxy's TLS interception. Chromium is
 * told to ignore certificate errors for the capture context, so this CA is never installed
 * anywhere; it exists only so the browser can speak TLS to the proxy. The certificate that counts
 * as evidence is the real upstream one, which the proxy records separately.
 *
 * Built on pkijs (already a dependency, for RFC 3161) over WebCrypto ECDSA P-256: key generation
 * is fast and nothing is written to disk.
 */

const ECDSA = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const engine = new pkijs.CryptoEngine({ name: 'node-webcrypto', crypto: webcrypto as unknown as Crypto });

const OID_COMMON_NAME = '2.5.4.3';
const OID_ORGANIZATION = '2.5.4.10';
const OID_BASIC_CONSTRAINTS = '2.5.29.19';
const OID_KEY_USAGE = '2.5.29.15';
const OID_EXT_KEY_USAGE = '2.5.29.37';
const OID_SUBJECT_ALT_NAME = '2.5.29.17';
const OID_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

function name(commonName: string): pkijs.RelativeDistinguishedNames {
  return new pkijs.RelativeDistinguishedNames({
    typesAndValues: [
      new pkijs.AttributeTypeAndValue({ type: OID_ORGANIZATION, value: new asn1js.Utf8String({ value: 'Exhibit recording proxy' }) }),
      new pkijs.AttributeTypeAndValue({ type: OID_COMMON_NAME, value: new asn1js.Utf8String({ value: commonName }) }),
    ],
  });
}

function keyUsage(bits: number): pkijs.Extension {
  // DER BIT STRING: first byte = number of unused bits in the last byte.
  const value = new asn1js.BitString({ valueHex: new Uint8Array([bits]).buffer, unusedBits: 0 });
  return new pkijs.Extension({ extnID: OID_KEY_USAGE, critical: true, extnValue: value.toBER(false) });
}

/** 4 bytes of an IPv4 address. */
function ipv4Bytes(ip: string): ArrayBuffer {
  return new Uint8Array(ip.split('.').map(Number)).buffer;
}

/** 16 bytes of an IPv6 address (expanded, no zone). */
function ipv6Bytes(ip: string): ArrayBuffer {
  const [head = '', tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const n = parseInt(g, 16);
    out[i * 2] = n >> 8;
    out[i * 2 + 1] = n & 0xff;
  });
  return out.buffer;
}

function altName(host: string): pkijs.GeneralName {
  const v = isIP(host);
  if (v === 4) return new pkijs.GeneralName({ type: 7, value: new asn1js.OctetString({ valueHex: ipv4Bytes(host) }) });
  if (v === 6) return new pkijs.GeneralName({ type: 7, value: new asn1js.OctetString({ valueHex: ipv6Bytes(host) }) });
  return new pkijs.GeneralName({ type: 2, value: host });
}

function toPem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64}-----END ${label}-----\n`;
}

/**
 * A 16-byte certificate serial from random bytes, positive and minimally encoded: the first byte is
 * 0x40–0x7f. Only clearing the top bit left a leading 0x00 now and then (about one leaf in 256),
 * a non-minimal DER INTEGER that OpenSSL and BoringSSL refuse ("illegal padding"), so a capture's
 * TLS to that host would fail at random.
 */
export function certSerial(random: Buffer): Buffer {
  const serial = Buffer.from(random.subarray(0, 16));
  serial[0] = ((serial[0] ?? 0) & 0x3f) | 0x40;
  return serial;
}

async function makeCert(opts: {
  subject: string;
  issuer: string;
  publicKey: CryptoKey;
  signingKey: CryptoKey;
  ca: boolean;
  host?: string;
  notBefore: Date;
  notAfter: Date;
}): Promise<string> {
  const cert = new pkijs.Certificate();
  cert.version = 2;
  const serial = certSerial(randomBytes(16));
  cert.serialNumber = new asn1js.Integer({ valueHex: new Uint8Array(serial) });
  cert.issuer = name(opts.issuer);
  cert.subject = name(opts.subject);
  cert.notBefore.value = opts.notBefore;
  cert.notAfter.value = opts.notAfter;
  const extensions: pkijs.Extension[] = [
    new pkijs.Extension({
      extnID: OID_BASIC_CONSTRAINTS,
      critical: true,
      extnValue: new pkijs.BasicConstraints({ cA: opts.ca }).toSchema().toBER(false),
      parsedValue: new pkijs.BasicConstraints({ cA: opts.ca }),
    }),
    // CA: keyCertSign (bit 5) + cRLSign (bit 6) → 0x06; leaf: digitalSignature (bit 0) → 0x80
    keyUsage(opts.ca ? 0x06 : 0x80),
  ];
  if (!opts.ca && opts.host) {
    extensions.push(
      new pkijs.Extension({
        extnID: OID_EXT_KEY_USAGE,
        extnValue: new pkijs.ExtKeyUsage({ keyPurposes: [OID_SERVER_AUTH] }).toSchema().toBER(false),
      }),
      new pkijs.Extension({
        extnID: OID_SUBJECT_ALT_NAME,
        extnValue: new pkijs.GeneralNames({ names: [altName(opts.host)] }).toSchema().toBER(false),
      }),
    );
  }
  cert.extensions = extensions;
  await cert.subjectPublicKeyInfo.importKey(opts.publicKey, engine);
  await cert.sign(opts.signingKey, 'SHA-256', engine);
  return toPem('CERTIFICATE', cert.toSchema(true).toBER(false));
}

/** Issues leaf certificates for intercepted hosts; one per host, cached. */
export class MitmCa {
  private readonly contexts = new Map<string, Promise<tls.SecureContext>>();

  private constructor(
    /** The CA certificate (PEM). */
    readonly certPem: string,
    private readonly caName: string,
    private readonly caKey: CryptoKey,
    private readonly leafKeys: CryptoKeyPair,
    private readonly leafKeyPem: string,
  ) {}

  /** A fresh CA with a random name, valid from yesterday for 30 days. */
  static async create(): Promise<MitmCa> {
    const caKeys = await webcrypto.subtle.generateKey(ECDSA, true, ['sign', 'verify']);
    const leafKeys = await webcrypto.subtle.generateKey(ECDSA, true, ['sign', 'verify']);
    const caName = `Exhibit MITM CA ${randomBytes(4).toString('hex')}`;
    const now = Date.now();
    const certPem = await makeCert({
      subject: caName,
      issuer: caName,
      publicKey: caKeys.publicKey,
      signingKey: caKeys.privateKey,
      ca: true,
      notBefore: new Date(now - 86_400_000),
      notAfter: new Date(now + 30 * 86_400_000),
    });
    const leafKeyPem = toPem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', leafKeys.privateKey));
    return new MitmCa(certPem, caName, caKeys.privateKey, leafKeys, leafKeyPem);
  }

  /** PEM leaf certificate for `host` (DNS name or IP literal), signed by this CA. */
  async issueLeaf(host: string): Promise<string> {
    const now = Date.now();
    return makeCert({
      subject: host,
      issuer: this.caName,
      publicKey: this.leafKeys.publicKey,
      signingKey: this.caKey,
      ca: false,
      host,
      notBefore: new Date(now - 86_400_000),
      notAfter: new Date(now + 7 * 86_400_000),
    });
  }

  /** A TLS server context presenting a leaf for `host` (HTTP/1.1 only). Cached per host. */
  secureContext(host: string): Promise<tls.SecureContext> {
    let ctx = this.contexts.get(host);
    if (!ctx) {
      ctx = this.issueLeaf(host).then((leaf) => tls.createSecureContext({ cert: leaf + this.certPem, key: this.leafKeyPem }));
      this.contexts.set(host, ctx);
      ctx.catch(() => this.contexts.delete(host));
    }
    return ctx;
  }
}
