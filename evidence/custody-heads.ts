import type { Logger } from 'pino';
import { isoUtc, type Clock } from '../lib/clock.js';
import { ExhibitError, IntegrityError } from '../lib/errors.js';
import { CustodyHead, SignatureRecord, TimestampRecord, type SignedHead } from '../schemas/custody.js';
import type { Failure } from '../schemas/errors.js';
import { canonicalBytes, sha256Digest } from './canonical.js';
import type { KeyStore } from './keys.js';
import { recordBytes, signDigest } from './signing.js';
import { custodyKeys, seqName, type EvidenceStore } from './store.js';
import { timestampDigest, type TimestampDeps, type TsaEndpoint } from './timestamp.js';

// Signed custody heads: `{caseId, seq, hash, time}` as canonical bytes, signed with the Ed25519 key
// and timestamped, each part stored write-once beside the head (see evidence/custody.ts).

/** A signed head as read back from the store, with store keys of its parts. */
export interface StoredHead extends SignedHead {
  headBytes: Buffer;
  headKey: string;
  signatureKey: string | null;
  tokens: Array<{ record: TimestampRecord; tsrKey: string; recordKey: string }>;
}

export interface SignHeadOptions {
  keys: KeyStore;
  tsas: TsaEndpoint[];
  timestamp: Omit<TimestampDeps, 'clock' | 'logger'>;
}

interface HeadDeps {
  store: EvidenceStore;
  clock: Clock;
  logger?: Logger;
}

/**
 * Sign and timestamp head `{seq, hash}` of a case (CustodyLog.signHead syncs and reads it first).
 * Idempotent per seq: when a head at this seq is already stored it is completed if needed and
 * returned; concurrent signers agree on the first head written.
 */
export async function signStoredHead(deps: HeadDeps, caseId: string, { seq, hash }: { seq: number; hash: string }, opts: SignHeadOptions): Promise<StoredHead> {
  const store = deps.store;
  const headKey = custodyKeys.head(caseId, seq);
  const fresh = canonicalBytes(CustodyHead.parse({ schemaVersion: 'exhibit.custody-head/1', caseId, seq, hash, time: isoUtc(deps.clock.now()) }));
  const putOrKeep = async (key: string, bytes: Uint8Array, contentType: string): Promise<boolean> => {
    try {
      return (await store.putRecord(key, bytes, { contentType })).created;
    } catch (err) {
      if (err instanceof ExhibitError && err.code === 'STORE_CONFLICT') return false;
      throw err;
    }
  };
  await putOrKeep(headKey, fresh, 'application/json');
  const headBytes = await store.getBytes(headKey);
  const digest = sha256Digest(headBytes);
  const sigKey = custodyKeys.headSignature(caseId, seq);
  if (!(await store.stat(sigKey))) {
    const sig = signDigest(digest, await opts.keys.activeKey(), deps.clock);
    await putOrKeep(sigKey, recordBytes(sig), 'application/json');
  }
  const existing = await readSignedHeads(store, caseId, seq);
  const current = existing.find((h) => h.head.seq === seq);
  let failures: Array<{ tsaUrl: string; failure: Failure }> = [];
  if (current && current.tokens.length === 0 && opts.tsas.length > 0) {
    const outcome = await timestampDigest(digest, opts.tsas, { ...opts.timestamp, clock: deps.clock, ...(deps.logger ? { logger: deps.logger } : {}) });
    failures = outcome.failures;
    let n = 0;
    for (const tok of outcome.tokens) {
      n++;
      if (!(await putOrKeep(custodyKeys.headToken(caseId, seq, n), tok.tsr, 'application/timestamp-reply'))) break;
      await putOrKeep(custodyKeys.headTimestamp(caseId, seq, n), recordBytes(TimestampRecord.parse({ ...tok.record, token: `${seqName(seq)}.timestamp-${n}.tsr` })), 'application/json');
    }
  }
  const done = (await readSignedHeads(store, caseId, seq)).find((h) => h.head.seq === seq);
  if (!done) throw new IntegrityError('CUSTODY_CHAIN_BROKEN', `signed head ${seq} of ${caseId} vanished from the store`);
  done.timestampFailures = failures;
  deps.logger?.info({ context: 'custody', caseId, seq, timestamps: done.tokens.length }, 'custody head signed');
  return done;
}

/** Signed heads of a case from the store, in seq order (optionally only those up to `maxSeq`). */
export async function readSignedHeads(store: EvidenceStore, caseId: string, maxSeq = Number.MAX_SAFE_INTEGER): Promise<StoredHead[]> {
  const keys = await store.list(custodyKeys.heads(caseId));
  const set = new Set(keys);
  const out: StoredHead[] = [];
  for (const key of keys) {
    const m = /\/(\d{12})\.json$/.exec(key);
    if (!m || Number(m[1]) > maxSeq) continue;
    const seq = Number(m[1]);
    const headBytes = await store.getBytes(key);
    const head = CustodyHead.parse(JSON.parse(headBytes.toString('utf8')));
    const sigKey = custodyKeys.headSignature(caseId, seq);
    const signature = set.has(sigKey) ? SignatureRecord.parse(JSON.parse((await store.getBytes(sigKey)).toString('utf8'))) : null;
    const tokens: StoredHead['tokens'] = [];
    for (let n = 1; set.has(custodyKeys.headTimestamp(caseId, seq, n)); n++) {
      const recordKey = custodyKeys.headTimestamp(caseId, seq, n);
      const record = TimestampRecord.parse(JSON.parse((await store.getBytes(recordKey)).toString('utf8')));
      tokens.push({ record, tsrKey: custodyKeys.headToken(caseId, seq, n), recordKey });
    }
    if (!signature) continue; // claimed but never signed (crash): completed by the next signHead
    out.push({ head, headBytes, headKey: key, signature, signatureKey: sigKey, timestamps: tokens.map((t) => t.record), tokens, timestampFailures: [] });
  }
  return out;
}
