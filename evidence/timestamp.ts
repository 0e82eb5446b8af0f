/**
 * RFC 3161 timestamping: client (pkijs + asn1js); the verifier lives in `timestamp-verify.ts`.
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
import { IntegrityError, PermanentError, TransientError, toFailure } from '../lib/errors.js';
import { metrics, secondsSince } from '../lib/metrics.js';
import type { Failure } from '../schemas/errors.js';
import type { TimestampRecord } from '../schemas/custody.js';
import { certificateToPem } from './certificates.js';
import { verifyTimestampToken } from './timestamp-verify.js';

export { certificateToPem, parseCertificates, readCertificates } from './certificates.js';
export { IMPRINT_ALGORITHMS, openTimestampToken, verifyTimestampToken } from './timestamp-verify.js';
export type { CertificateSource, ImprintAlgorithm, TimestampFacts, VerifyTimestampOptions } from './timestamp-verify.js';

const OID_SHA256 = '2.16.840.1.101.3.4.2.1';

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

const invalid = (message: string, cause?: unknown) => new IntegrityError('TIMESTAMP_INVALID', message, { cause });

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
    const started = process.hrtime.bigint();
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
      metrics.tsaRequest.observe({ tsa: tsa.url, outcome: 'ok' }, secondsSince(started));
      return { record, tsr };
    } catch (err) {
      lastErr = err;
      // An invalid token counts as a failure of that TSA, like no answer.
      metrics.tsaRequest.observe({ tsa: tsa.url, outcome: 'failed' }, secondsSince(started));
      metrics.tsaFailures.inc({ tsa: tsa.url, code: toFailure(err).code });
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

/** One DER TLV at `off` (definite lengths only, as DER requires). */
function derTlv(b: Uint8Array, off: number): { tag: number; start: number; end: number } {
  const tag = b[off];
  let len = b[off + 1];
  if (tag === undefined || len === undefined || (tag & 0x1f) === 0x1f) throw new Error('unsupported DER');
  let start = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new Error('unsupported DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (b[start + i] ?? Number.NaN);
    start += n;
  }
  const end = start + len;
  if (!Number.isFinite(end) || end > b.length) throw new Error('truncated DER');
  return { tag, start, end };
}

function derChildren(b: Uint8Array, parent: { start: number; end: number }): Array<{ tag: number; start: number; end: number }> {
  const out = [];
  for (let off = parent.start; off < parent.end; ) {
    const c = derTlv(b, off);
    out.push(c);
    off = c.end;
  }
  return out;
}

/**
 * The raw `certificates` field of an RFC 3161 reply's SignedData (empty when it has none):
 * TimeStampResp → ContentInfo → [0] → SignedData → [0] IMPLICIT certificates. Throws on anything else.
 */
export function tokenCertificatesField(tsr: Uint8Array): Uint8Array {
  const resp = derTlv(tsr, 0);
  if (resp.tag !== 0x30) throw new Error('not a TimeStampResp');
  const token = derChildren(tsr, resp)[1];
  if (!token) return new Uint8Array(0);
  const content = derChildren(tsr, token)[1];
  if (token.tag !== 0x30 || content?.tag !== 0xa0) throw new Error('not a ContentInfo');
  const signedData = derChildren(tsr, content)[0];
  if (signedData?.tag !== 0x30) throw new Error('not a SignedData');
  const certs = derChildren(tsr, signedData)[3];
  return certs?.tag === 0xa0 ? tsr.subarray(certs.start, certs.end) : new Uint8Array(0);
}

/**
 * The TSA certificates of many tokens. Every token of one TSA carries the same certificate bytes,
 * and parsing a whole token (pkijs) costs ~7 ms — 1.6 s for 200 captures — so each distinct
 * certificates field is parsed once. A token this reader does not follow is parsed on its own.
 */
export function certificatesOfTokens(tokens: readonly Uint8Array[], parse: (tsr: Uint8Array) => string[] = tokenCertificates): string[] {
  const byField = new Map<string, string[]>();
  const pems = new Set<string>();
  for (const tsr of tokens) {
    let key: string | null;
    try {
      key = createHash('sha256').update(tokenCertificatesField(tsr)).digest('hex');
    } catch {
      key = null;
    }
    let certs = key === null ? undefined : byField.get(key);
    if (!certs) {
      certs = parse(tsr);
      if (key !== null) byField.set(key, certs);
    }
    for (const c of certs) pems.add(c);
  }
  return [...pems];
}
