/**
 * RFC 3161 timestamping: client and verifier (pkijs + asn1js).
 *
 * Request: SHA-256 message imprint, a random 63-bit positive nonce, `certReq` true (so the token
 * carries the TSA certificate), optional `reqPolicy`. Response checks, all on receipt and again
 * offline by `verifyTimestampToken`: status granted; content type id-ct-TSTInfo; imprint algorithm
 * and value equal ours; nonce equal (when we know it); policy equal to the requested one (when one
 * was requested); CMS SignedData signature valid; signer certificate chains to a configured trust
 * anchor at genTime; the signer certificate has the critical extendedKeyUsage timeStamping (as
 * OpenSSL requires); the ESSCertID / ESSCertIDv2 signed attribute names that certificate.
 *
 * The `.tsr` we keep is the TimeStampResp exactly as received, so
 * `openssl ts -verify -digest <hex> -in x.tsr -CAfile ca.pem -untrusted tsa.pem` checks it too.
 *
 * Errors: network failures, timeouts, HTTP 5xx/429 and `waiting` status → TransientError
 * TIMESTAMP_FAILED (retried with exponential backoff inside `requestTimestamp`); a rejection status
 * → PermanentError TIMESTAMP_FAILED; anything wrong with the token → IntegrityError TIMESTAMP_INVALID.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import type { Logger } from 'pino';
import { isoUtc, type Clock } from '../lib/clock.js';
import { ExhibitError, IntegrityError, PermanentError, TransientError, toFailure } from '../lib/errors.js';
import type { Failure } from '../schemas/errors.js';
import type { TimestampRecord } from '../schemas/custody.js';

const OID_SHA256 = '2.16.840.1.101.3.4.2.1';
const OID_TSTINFO = '1.2.840.113549.1.9.16.1.4';
const OID_EKU = '2.5.29.37';
const OID_EKU_TIMESTAMPING = '1.3.6.1.5.5.7.3.8';
const OID_SIGNING_CERT = '1.2.840.113549.1.9.16.2.12';
const OID_SIGNING_CERT_V2 = '1.2.840.113549.1.9.16.2.47';
const HASH_BY_OID: Record<string, string> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};
const NAME_OIDS: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.5': 'serialNumber',
  '1.2.840.113549.1.9.1': 'emailAddress',
};

/** One configured TSA. */
export interface TsaEndpoint {
  url: string;
  /** Policy OID to ask for (`reqPolicy`); the token must then carry it. */
  policy?: string;
}

/** What `timestampDigest` needs; injected so tests control time, network and randomness. */
export interface TimestampDeps {
  clock: Clock;
  logger?: Logger;
  /** Trust anchors (PEM text, one or more certificates each) the TSA certificate must chain to. */
  trustAnchors: string[];
  /** Per-request timeout. @defaultValue 10000 */
  timeoutMs?: number;
  /** Attempts per TSA for transient failures. @defaultValue 3 */
  attempts?: number;
  /** First backoff delay; doubles per attempt. @defaultValue 250 */
  backoffMs?: number;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  /** 8 random bytes for the nonce. @defaultValue crypto.randomBytes */
  randomNonce?: () => Buffer;
}

/** A token that passed every check. `tsr` is the TimeStampResp DER exactly as received. */
export interface TimestampToken {
  record: Omit<TimestampRecord, 'token'>;
  tsr: Buffer;
}

/** Outcome of asking every configured TSA. None answered → the caller marks the capture unsealed. */
export interface TimestampOutcome {
  tokens: TimestampToken[];
  failures: Array<{ tsaUrl: string; failure: Failure }>;
}

/** Facts of a verified token. */
export interface TimestampFacts {
  genTime: string;
  serialNumber: string;
  policy: string;
  tsaName: string | null;
  nonce: string | null;
  signerSubject: string;
  signerCertSha256: string;
  /** The signer certificate and the chain used, PEM (for packaging). */
  signerCertPem: string;
}

const invalid = (message: string, cause?: unknown) => new IntegrityError('TIMESTAMP_INVALID', message, { cause });

/** Split PEM text into certificates. */
export function parseCertificates(pem: string): pkijs.Certificate[] {
  const out: pkijs.Certificate[] = [];
  const re = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g;
  for (const m of pem.matchAll(re)) {
    const der = Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64');
    out.push(pkijs.Certificate.fromBER(der));
  }
  return out;
}

/** DER of a certificate as PEM text. */
export function certificateToPem(cert: pkijs.Certificate): string {
  const b64 = Buffer.from(cert.toSchema().toBER(false)).toString('base64');
  return `-----BEGIN CERTIFICATE-----\n${b64.replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
}

function formatName(name: pkijs.RelativeDistinguishedNames): string {
  return name.typesAndValues
    .map((tv) => `${NAME_OIDS[tv.type] ?? tv.type}=${String((tv.value.valueBlock as { value?: unknown }).value ?? '')}`)
    .join(', ');
}

function hex(view: ArrayBuffer | Uint8Array): string {
  return Buffer.from(view instanceof Uint8Array ? view : new Uint8Array(view)).toString('hex');
}

function certDer(cert: pkijs.Certificate): Buffer {
  return Buffer.from(cert.toSchema().toBER(false));
}

/** Build a DER TimeStampReq for a `sha256:<hex>` digest. */
export function buildTimestampRequest(digest: string, opts: { nonce: Buffer; policy?: string }): Buffer {
  const m = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (!m) throw new PermanentError('INVALID_INPUT', `expected sha256:<64 hex>, got ${JSON.stringify(digest)}`);
  const req = new pkijs.TimeStampReq({
    version: 1,
    messageImprint: new pkijs.MessageImprint({
      hashAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: OID_SHA256 }),
      hashedMessage: new asn1js.OctetString({ valueHex: Buffer.from(m[1]!, 'hex') }),
    }),
    nonce: new asn1js.Integer({ valueHex: opts.nonce }),
    certReq: true,
    ...(opts.policy ? { reqPolicy: opts.policy } : {}),
  });
  return Buffer.from(req.toSchema().toBER(false));
}

/** A positive nonce without a leading zero byte (so its DER encoding is the bytes themselves). */
function makeNonce(random: () => Buffer): Buffer {
  const n = Buffer.from(random());
  if (n.length !== 8) throw new PermanentError('INVALID_INPUT', 'nonce source must give 8 bytes');
  n[0] = (n[0]! & 0x7f) | 0x01;
  return n;
}

function findSigningCertHash(signerInfo: pkijs.SignerInfo): { alg: string; hash: Buffer } {
  const attrs = signerInfo.signedAttrs?.attributes ?? [];
  const v2 = attrs.find((a) => a.type === OID_SIGNING_CERT_V2);
  const v1 = attrs.find((a) => a.type === OID_SIGNING_CERT);
  const attr = v2 ?? v1;
  if (!attr) throw invalid('token has no ESSCertID/ESSCertIDv2 signing-certificate attribute');
  try {
    const signingCert = attr.values[0] as asn1js.Sequence;
    const certs = signingCert.valueBlock.value[0] as asn1js.Sequence;
    const first = certs.valueBlock.value[0] as asn1js.Sequence;
    const parts = first.valueBlock.value;
    if (v2) {
      let alg = 'sha256';
      let idx = 0;
      if (parts[0] instanceof asn1js.Sequence) {
        const algId = new pkijs.AlgorithmIdentifier({ schema: parts[0] });
        alg = HASH_BY_OID[algId.algorithmId] ?? algId.algorithmId;
        idx = 1;
      }
      return { alg, hash: Buffer.from((parts[idx] as asn1js.OctetString).valueBlock.valueHexView) };
    }
    return { alg: 'sha1', hash: Buffer.from((parts[0] as asn1js.OctetString).valueBlock.valueHexView) };
  } catch (cause) {
    throw invalid('token signing-certificate attribute is malformed', cause);
  }
}

export interface VerifyTimestampOptions {
  /** The digest that must be the message imprint, `sha256:<hex>`. */
  digest: string;
  /** Trust anchors (PEM text). */
  trustAnchors: string[];
  /** Extra untrusted certificates (PEM) to build the chain when the token lacks them. */
  untrusted?: string[];
  /** Nonce we sent (hex); checked when given. */
  nonce?: string;
  /** Policy OID we asked for; checked when given. */
  policy?: string;
}

/**
 * Check a TimeStampResp (as received: `.tsr`) against a digest and trust anchors. Works offline.
 * Throws IntegrityError TIMESTAMP_INVALID naming what is wrong; PermanentError TIMESTAMP_FAILED when
 * the TSA refused.
 */
export async function verifyTimestampToken(tsr: Uint8Array, opts: VerifyTimestampOptions): Promise<TimestampFacts> {
  let resp: pkijs.TimeStampResp;
  try {
    resp = pkijs.TimeStampResp.fromBER(new Uint8Array(tsr));
  } catch (cause) {
    throw invalid('not a DER TimeStampResp', cause);
  }
  const status = resp.status.status;
  if (status !== pkijs.PKIStatus.granted && status !== pkijs.PKIStatus.grantedWithMods) {
    const text = (resp.status.statusStrings ?? []).map((s) => s.valueBlock.value).join('; ');
    const err = `TSA did not grant the request: status ${status}${text ? ` (${text})` : ''}`;
    if (status === pkijs.PKIStatus.waiting) throw new TransientError('TIMESTAMP_FAILED', err);
    throw new PermanentError('TIMESTAMP_FAILED', err);
  }
  if (!resp.timeStampToken) throw invalid('status granted but no timeStampToken');
  if (resp.timeStampToken.contentType !== pkijs.ContentInfo.SIGNED_DATA) throw invalid(`token content type ${resp.timeStampToken.contentType} is not SignedData`);
  let signed: pkijs.SignedData;
  let tst: pkijs.TSTInfo;
  try {
    signed = new pkijs.SignedData({ schema: resp.timeStampToken.content });
    if (signed.encapContentInfo.eContentType !== OID_TSTINFO) throw invalid(`encapsulated content ${signed.encapContentInfo.eContentType} is not TSTInfo`);
    const eContent = signed.encapContentInfo.eContent;
    if (!eContent) throw invalid('token has no encapsulated TSTInfo');
    tst = pkijs.TSTInfo.fromBER(eContent.getValue());
  } catch (cause) {
    if (cause instanceof ExhibitError) throw cause;
    throw invalid('token is not a well-formed SignedData/TSTInfo', cause);
  }

  // Imprint.
  const wantHex = /^sha256:([0-9a-f]{64})$/.exec(opts.digest)?.[1];
  if (!wantHex) throw new PermanentError('INVALID_INPUT', `expected sha256:<64 hex>, got ${JSON.stringify(opts.digest)}`);
  if (tst.messageImprint.hashAlgorithm.algorithmId !== OID_SHA256) throw invalid(`imprint algorithm ${tst.messageImprint.hashAlgorithm.algorithmId} is not SHA-256`);
  const gotHex = hex(tst.messageImprint.hashedMessage.valueBlock.valueHexView);
  if (gotHex !== wantHex) throw invalid(`message imprint mismatch: token covers sha256:${gotHex}, expected sha256:${wantHex}`);

  // Nonce.
  const nonce = tst.nonce ? hex(tst.nonce.valueBlock.valueHexView) : null;
  if (opts.nonce !== undefined && nonce !== opts.nonce) throw invalid(`nonce mismatch: sent ${opts.nonce}, token has ${nonce ?? 'none'}`);
  // Policy.
  if (opts.policy !== undefined && tst.policy !== opts.policy) throw invalid(`policy mismatch: asked for ${opts.policy}, token has ${tst.policy}`);

  // Signature and chain.
  const trusted = opts.trustAnchors.flatMap(parseCertificates);
  if (trusted.length === 0) throw invalid('no trust anchors configured for timestamp verification');
  const extra = (opts.untrusted ?? []).flatMap(parseCertificates);
  signed.certificates = [...(signed.certificates ?? []), ...extra];
  // pkijs re-checks a TSTInfo imprint only against the original data, which we do not have (we hold
  // the digest and checked the imprint above). Verify the CMS signature as plain signed data, after
  // checking the signed content-type attribute says TSTInfo (pkijs only checks that it exists).
  const ctAttr = signed.signerInfos[0]?.signedAttrs?.attributes.find((a) => a.type === '1.2.840.113549.1.9.3');
  const ctValue = (ctAttr?.values[0] as asn1js.ObjectIdentifier | undefined)?.valueBlock?.toString();
  if (ctValue !== OID_TSTINFO) throw invalid(`signed content-type attribute is ${ctValue ?? 'missing'}, not TSTInfo`);
  signed.encapContentInfo.eContentType = '1.2.840.113549.1.7.1';
  let result: pkijs.SignedDataVerifyResult;
  try {
    result = await signed.verify({ signer: 0, trustedCerts: trusted, checkChain: true, checkDate: tst.genTime, extendedMode: true });
  } catch (cause) {
    const e = cause as Partial<pkijs.SignedDataVerifyResult> & { message?: string };
    if (e.signatureVerified === false) throw invalid('token signature does not verify', cause);
    if (e.signerCertificateVerified === false) throw invalid(`TSA certificate does not chain to a trusted CA: ${e.message ?? 'unknown reason'}`, cause);
    throw invalid(`token verification failed: ${e.message ?? String(cause)}`, cause);
  }
  if (!result.signatureVerified) throw invalid('token signature does not verify');
  if (!result.signerCertificateVerified) throw invalid('TSA certificate does not chain to a trusted CA');
  const signer = result.signerCertificate;
  if (!signer || !(signer instanceof pkijs.Certificate)) throw invalid('signer certificate not found in token or untrusted certificates');

  // EKU: critical, timeStamping (RFC 3161 §2.3).
  const eku = signer.extensions?.find((x) => x.extnID === OID_EKU);
  const purposes = (eku?.parsedValue as pkijs.ExtKeyUsage | undefined)?.keyPurposes ?? [];
  if (!eku || !purposes.includes(OID_EKU_TIMESTAMPING)) throw invalid('TSA certificate lacks extendedKeyUsage timeStamping');
  if (!eku.critical) throw invalid('TSA certificate extendedKeyUsage is not critical');

  // ESSCertID(v2) names the signer certificate.
  const signerInfo = signed.signerInfos[0];
  if (!signerInfo) throw invalid('token has no signerInfo');
  const ess = findSigningCertHash(signerInfo);
  const der = certDer(signer);
  const actual = createHash(ess.alg).update(der).digest();
  if (!actual.equals(ess.hash)) throw invalid('ESSCertID does not match the signer certificate');

  const tsaName = tst.tsa && tst.tsa.type === 4 ? formatName(tst.tsa.value as pkijs.RelativeDistinguishedNames) : null;
  return {
    genTime: isoUtc(tst.genTime),
    serialNumber: hex(tst.serialNumber.valueBlock.valueHexView),
    policy: tst.policy,
    tsaName,
    nonce,
    signerSubject: formatName(signer.subject),
    signerCertSha256: `sha256:${createHash('sha256').update(der).digest('hex')}`,
    signerCertPem: certificateToPem(signer),
  };
}

function describeNetworkError(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return 'timed out';
  const code = e.cause?.code;
  return code ? `${code}${e.cause?.message ? ` (${e.cause.message})` : ''}` : (e.message ?? String(err));
}

/** One POST to one TSA, no retries. */
async function postOnce(tsa: TsaEndpoint, query: Buffer, deps: TimestampDeps): Promise<Buffer> {
  const doFetch = deps.fetch ?? fetch;
  let res: Response;
  try {
    res = await doFetch(tsa.url, {
      method: 'POST',
      headers: { 'content-type': 'application/timestamp-query', accept: 'application/timestamp-reply' },
      body: new Uint8Array(query),
      signal: AbortSignal.timeout(deps.timeoutMs ?? 10_000),
    });
  } catch (cause) {
    throw new TransientError('TIMESTAMP_FAILED', `TSA ${tsa.url} unreachable: ${describeNetworkError(cause)}`, { cause });
  }
  if (res.status >= 500 || res.status === 429 || res.status === 408) {
    await res.body?.cancel();
    throw new TransientError('TIMESTAMP_FAILED', `TSA ${tsa.url} answered HTTP ${res.status}`);
  }
  if (res.status !== 200) {
    await res.body?.cancel();
    throw new PermanentError('TIMESTAMP_FAILED', `TSA ${tsa.url} answered HTTP ${res.status}`);
  }
  const body = Buffer.from(await res.arrayBuffer());
  if (body.length > 1024 * 1024) throw invalid(`TSA ${tsa.url} response is larger than 1 MiB`);
  return body;
}

/**
 * Timestamp `digest` at one TSA, with retries and exponential backoff for transient failures.
 * Returns a verified token; throws TransientError/PermanentError TIMESTAMP_FAILED or IntegrityError
 * TIMESTAMP_INVALID.
 */
export async function requestTimestamp(digest: string, tsa: TsaEndpoint, deps: TimestampDeps): Promise<TimestampToken> {
  const attempts = deps.attempts ?? 3;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let lastErr: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const nonce = makeNonce(deps.randomNonce ?? (() => randomBytes(8)));
    const query = buildTimestampRequest(digest, { nonce, ...(tsa.policy ? { policy: tsa.policy } : {}) });
    try {
      const tsr = await postOnce(tsa, query, deps);
      const received = deps.clock.now();
      const facts = await verifyTimestampToken(tsr, {
        digest,
        trustAnchors: deps.trustAnchors,
        nonce: nonce.toString('hex'),
        ...(tsa.policy ? { policy: tsa.policy } : {}),
      });
      const record: Omit<TimestampRecord, 'token'> = {
        schemaVersion: 'exhibit.timestamp/1',
        tsaUrl: tsa.url,
        digest,
        genTime: facts.genTime,
        localTime: isoUtc(received),
        clockSkewMs: received.getTime() - new Date(facts.genTime).getTime(),
        serialNumber: facts.serialNumber,
        policy: facts.policy,
        tsaName: facts.tsaName ?? facts.signerSubject,
        signerSubject: facts.signerSubject,
        signerCertSha256: facts.signerCertSha256,
        nonce: nonce.toString('hex'),
        tokenSha256: `sha256:${createHash('sha256').update(tsr).digest('hex')}`,
      };
      deps.logger?.info({ context: 'timestamp', tsaUrl: tsa.url, genTime: record.genTime, clockSkewMs: record.clockSkewMs }, 'timestamp token received');
      return { record, tsr };
    } catch (err) {
      lastErr = err;
      const retry = err instanceof TransientError && attempt < attempts;
      deps.logger?.warn({ context: 'timestamp', tsaUrl: tsa.url, attempt, err: (err as Error).message, retry }, 'timestamp attempt failed');
      if (!retry) break;
      await sleep((deps.backoffMs ?? 250) * 2 ** (attempt - 1));
    }
  }
  throw lastErr;
}

/**
 * Ask every TSA (in parallel) to timestamp `digest`. Returns the tokens from every TSA that
 * answered with a valid token, plus each failure. Never throws for TSA failures.
 */
export async function timestampDigest(digest: string, tsas: TsaEndpoint[], deps: TimestampDeps): Promise<TimestampOutcome> {
  const settled = await Promise.allSettled(tsas.map((t) => requestTimestamp(digest, t, deps)));
  const out: TimestampOutcome = { tokens: [], failures: [] };
  settled.forEach((s, i) => {
    if (s.status === 'fulfilled') out.tokens.push(s.value);
    else out.failures.push({ tsaUrl: tsas[i]!.url, failure: toFailure(s.reason) });
  });
  return out;
}

/** The signer certificates carried inside a token (PEM), for packaging beside the trust anchors. */
export function tokenCertificates(tsr: Uint8Array): string[] {
  try {
    const resp = pkijs.TimeStampResp.fromBER(new Uint8Array(tsr));
    if (!resp.timeStampToken) return [];
    const signed = new pkijs.SignedData({ schema: resp.timeStampToken.content });
    return (signed.certificates ?? []).filter((c): c is pkijs.Certificate => c instanceof pkijs.Certificate).map(certificateToPem);
  } catch {
    return [];
  }
}
