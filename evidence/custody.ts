/**
 * The per-case custody log: append-only, hash-chained, gap-free and fork-free with many writers.
 *
 * Event hashing (see schemas/custody.ts `CustodyEvent`): `hash` = `sha256:` of the RFC 8785
 * canonical bytes of the event without its `hash` field; the stored bytes are the canonical bytes
 * of the whole event. `prevHash` of event 1 is `genesisHash(caseId)` =
 * `sha256("exhibit.custody-genesis/1\n" + caseId)`, so a log cannot be moved to another case.
 *
 * Ordering (why there are no gaps or forks): Redis holds, per case, a head `{seq, hash}`, the list of
 * committed event bytes and an idempotency map (key → seq), all under one hash tag so a Redis
 * Cluster keeps them on one slot. An appender reads the head, builds event `seq+1` chained to it, and
 * a Lua script commits it only if the head is unchanged (compare-and-set: RPUSH + set head + record
 * the idempotency key, atomically); on a lost race it re-reads and rebuilds. Only then is the event
 * written write-once to the store at `cases/<caseId>/custody/<seq, 12 digits>.json`; identical
 * re-puts are no-ops, different bytes under an existing seq are an IntegrityError (a fork).
 *
 * Crash between the two writes: the event is committed in Redis but missing from the store.
 * `sync(caseId)` copies every committed event missing from the store; a retried append with the same
 * idempotency key returns the committed event and re-puts it. When Redis has no head for a case
 * (new Redis, lost data) but the store holds events, the first append seeds Redis from the store
 * after checking the chain.
 *
 * Event `time` is the appender's clock when it built the event; with several machines, times of
 * consecutive events may be out of order by the clock difference — `seq` is the order.
 *
 * Signed heads: `signHead` signs `{caseId, seq, hash, time}` (canonical bytes) with the Ed25519
 * key and timestamps it, stored write-once as `cases/<caseId>/custody-heads/<seq12>.json` plus
 * `.signature.json`, `.timestamp-<n>.tsr` and `.timestamp-<n>.json`. It does not append an event
 * (that would move the head it just signed).
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { isoUtc, newId, type Clock, type IdGenerator } from '../lib/clock.js';
import { mapLimit } from '../lib/concurrency.js';
import { ExhibitError, IntegrityError, PermanentError, TransientError } from '../lib/errors.js';
import { metrics } from '../lib/metrics.js';
import {
  CustodyEvent,
  CustodyHead,
  ElidedCustodyEvent,
  SignatureRecord,
  TimestampRecord,
  type CustodyAction,
  type CustodyActor,
} from '../schemas/custody.js';
import { canonicalBytes, sha256Digest } from './canonical.js';
import { readSignedHeads, signStoredHead, type SignHeadOptions, type StoredHead } from './custody-heads.js';
import { APPEND_ALL_LUA, APPEND_LUA, SEED_LUA } from './custody-scripts.js';
import { custodyKeys, storeKeys, type EvidenceStore } from './store.js';

// Where custody records live is part of the store layout (store.ts); signed heads are custody-heads.ts.
export { custodyKeys, seqName } from './store.js';
export type { SignHeadOptions, StoredHead } from './custody-heads.js';

/** `prevHash` of event 1 of a case. */
export function genesisHash(caseId: string): string {
  return sha256Digest(Buffer.from(`exhibit.custody-genesis/1\n${caseId}`, 'utf8'));
}

/** Hash of an event: sha256 of the canonical bytes without `hash`. */
export function eventHash(event: Omit<CustodyEvent, 'hash'> & { hash?: string }): string {
  const { hash: _ignored, ...rest } = event;
  return sha256Digest(canonicalBytes(rest));
}

/** One problem found in a chain of stored event bytes. */
export interface ChainProblem {
  /** Index in the input (0-based) or -1 for the chain as a whole. */
  index: number;
  seq: number | null;
  message: string;
}

/**
 * Check a sequence of stored event bytes: each parses, is canonical, belongs to `caseId`, has
 * `seq` = position + 1, links to the previous `hash` (genesis for the first), and its `hash`
 * recomputes. Returns every problem (empty = intact).
 *
 * With `allowElided` (a package's log), a line may also be an elided event (`exhibit.custody-elided/1`,
 * see evidence/custody-elide.ts): seq, prevHash and hash only. Its hash cannot be recomputed; it is
 * checked to be canonical, in place and linked, and the next line must link to it. The log as the
 * store holds it never has elided lines (the default refuses them).
 */
export function verifyChain(caseId: string, entries: Uint8Array[], opts: { allowElided?: boolean } = {}): ChainProblem[] {
  const problems: ChainProblem[] = [];
  let prev = genesisHash(caseId);
  entries.forEach((bytes, index) => {
    let json: unknown;
    try {
      json = JSON.parse(Buffer.from(bytes).toString('utf8'));
    } catch (err) {
      problems.push({ index, seq: null, message: `not JSON: ${(err as Error).message}` });
      prev = '';
      return;
    }
    const elided = opts.allowElided && (json as { schemaVersion?: unknown } | null)?.schemaVersion === 'exhibit.custody-elided/1';
    const parsed = elided ? ElidedCustodyEvent.safeParse(json) : CustodyEvent.safeParse(json);
    if (!parsed.success) {
      problems.push({ index, seq: null, message: `not a custody event${elided ? ' (elided)' : ''}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` });
      prev = '';
      return;
    }
    const event = parsed.data;
    const seq = event.seq;
    if (!canonicalBytes(event).equals(Buffer.from(bytes))) problems.push({ index, seq, message: `bytes are not the canonical (RFC 8785) form of the ${elided ? 'elided ' : ''}event` });
    if (event.caseId !== caseId) problems.push({ index, seq, message: `event belongs to case ${event.caseId}, not ${caseId}` });
    if (seq !== index + 1) problems.push({ index, seq, message: `sequence gap or reorder: expected seq ${index + 1}, found ${seq}` });
    if (!elided) {
      const recomputed = eventHash(event as CustodyEvent);
      if (recomputed !== event.hash) problems.push({ index, seq, message: `event was altered: hash recomputes to ${recomputed}, event says ${event.hash}` });
    }
    if (prev && event.prevHash !== prev) problems.push({ index, seq, message: `prevHash ${event.prevHash} does not link to the previous ${index > 0 ? "event's hash" : 'genesis hash'} ${prev}${elided ? ' (elided event)' : ''}` });
    prev = event.hash;
  });
  return problems;
}

/** What a caller appends. */
export interface AppendInput {
  caseId: string;
  actor: CustodyActor;
  action: CustodyAction;
  subject?: { captureId?: string; digests?: string[] };
  details?: Record<string, unknown>;
  /** Same key again → the existing event is returned and nothing is appended. */
  idempotencyKey?: string;
}

export interface AppendResult {
  event: CustodyEvent;
  /** Exact stored bytes. */
  bytes: Buffer;
  /** False when the idempotency key had already been used. */
  created: boolean;
}

export interface StoredEvent {
  event: CustodyEvent;
  bytes: Buffer;
  key: string;
}

export interface CustodyLogDeps {
  redis: Redis;
  store: EvidenceStore;
  clock: Clock;
  newId?: IdGenerator;
  logger?: Logger;
  /** Redis key prefix (config `redis.prefix`). @defaultValue `exhibit` */
  prefix?: string;
  /** Compare-and-set attempts before giving up with a TransientError. @defaultValue 10000 */
  maxAttempts?: number;
}

/**
 * Every event of a case from the store (except the keys in `skip`), in seq order, with the exact
 * stored bytes. Read 32 at a time: a 200-capture case holds thousands of small event files.
 */
export async function readStoredEvents(store: EvidenceStore, caseId: string, skip: ReadonlySet<string> = new Set()): Promise<StoredEvent[]> {
  const keys = (await store.list(storeKeys.custody(caseId))).filter((k) => /\/\d{12}\.json$/.test(k) && !skip.has(k)).sort();
  return mapLimit(keys, 32, async (key) => {
    const bytes = await store.getBytes(key);
    return { event: CustodyEvent.parse(JSON.parse(bytes.toString('utf8'))), bytes, key };
  });
}

/** The case's custody events after `seq`, read from the store: only the new ones, for a reader catching up. */
export async function storedEventsAfter(store: EvidenceStore, caseId: string, seq: number): Promise<CustodyEvent[]> {
  const keys = (await store.list(storeKeys.custody(caseId))).filter((k) => {
    const m = /\/(\d{12})\.json$/.exec(k);
    return m && Number(m[1]) > seq;
  });
  return mapLimit(keys.sort(), 32, async (k) => CustodyEvent.parse(JSON.parse((await store.getBytes(k)).toString('utf8'))));
}

/** Lost a compare-and-set race: once contention is high, wait a little before rebuilding on the new head. */
async function backoff(attempt: number): Promise<void> {
  if (attempt > 3) await new Promise((r) => setTimeout(r, Math.random() * Math.min(20, attempt)));
}

const strip = <T extends Record<string, unknown>>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

/** The custody log of every case, on one Redis and one evidence store. */
export class CustodyLog {
  private readonly deps: CustodyLogDeps;
  private readonly seeded = new Set<string>();

  constructor(deps: CustodyLogDeps) {
    this.deps = deps;
  }

  private redisKeys(caseId: string): [string, string, string] {
    const base = `${this.deps.prefix ?? 'exhibit'}:custody:{${caseId}}`;
    return [`${base}:head`, `${base}:events`, `${base}:idem`];
  }

  /** Current head from Redis: `{seq: 0, hash: genesis}` for an empty log. */
  async head(caseId: string): Promise<{ seq: number; hash: string }> {
    await this.ensureSeeded(caseId);
    return this.readHead(caseId);
  }

  /** The head as Redis has it now (no seeding): `{seq: 0, hash: genesis}` for an empty log. */
  private async readHead(caseId: string): Promise<{ seq: number; hash: string }> {
    const [headKey] = this.redisKeys(caseId);
    const [seq, hash] = await this.deps.redis.hmget(headKey, 'seq', 'hash');
    return seq ? { seq: Number(seq), hash: hash ?? '' } : { seq: 0, hash: genesisHash(caseId) };
  }

  /** When Redis knows nothing of a case that the store has events for, load them into Redis. */
  private async ensureSeeded(caseId: string): Promise<void> {
    if (this.seeded.has(caseId)) return;
    const keys = this.redisKeys(caseId);
    if ((await this.deps.redis.exists(keys[0])) === 0) {
      const stored = await this.readLog(caseId);
      if (stored.length > 0) {
        const problems = verifyChain(caseId, stored.map((s) => s.bytes));
        if (problems.length > 0) {
          throw new IntegrityError('CUSTODY_CHAIN_BROKEN', `custody log of ${caseId} in the store is broken, refusing to continue it: ${problems.map((p) => `seq ${p.seq ?? '?'}: ${p.message}`).join('; ')}`);
        }
        const last = stored[stored.length - 1]!.event;
        const idem = stored.flatMap((s) => (s.event.idempotencyKey ? [s.event.idempotencyKey, String(s.event.seq)] : []));
        const args = [String(last.seq), last.hash, ...idem, '--', ...stored.map((s) => s.bytes.toString('utf8'))];
        await this.deps.redis.eval(SEED_LUA, 3, ...keys, ...args);
        this.deps.logger?.warn({ context: 'custody', caseId, seq: last.seq }, 'custody head seeded into Redis from the store');
      }
    }
    this.seeded.add(caseId);
  }

  /** Event `prevSeq + 1`, chained to `prevHash`, with its exact canonical bytes. */
  private buildEvent(input: AppendInput, prevSeq: number, prevHash: string): { event: CustodyEvent; bytes: Buffer } {
    const unhashed = strip({
      schemaVersion: 'exhibit.custody-event/1' as const,
      caseId: input.caseId,
      seq: prevSeq + 1,
      eventId: (this.deps.newId ?? newId)(),
      time: isoUtc(this.deps.clock.now()),
      actor: strip({ ...input.actor }),
      action: input.action,
      subject: strip({ captureId: input.subject?.captureId, digests: input.subject?.digests }),
      details: input.details ?? {},
      idempotencyKey: input.idempotencyKey,
      prevHash,
    });
    const event = CustodyEvent.parse({ ...unhashed, hash: eventHash(unhashed) });
    return { event, bytes: canonicalBytes(event) };
  }

  /**
   * Append several events of one case as one consecutive run (no other appender's event lands
   * between them), in one Redis round trip, then store them in parallel. Same guarantees as
   * {@link append}. When any idempotency key of the batch was used before (a retried seal that got
   * part-way), it goes event by event, so each returns its existing event or appends.
   * @throws PermanentError INVALID_INPUT when the inputs name different cases or repeat a key.
   */
  async appendAll(inputs: readonly AppendInput[]): Promise<AppendResult[]> {
    if (inputs.length === 0) return [];
    const caseId = inputs[0]!.caseId;
    if (inputs.some((i) => i.caseId !== caseId)) throw new PermanentError('INVALID_INPUT', 'appendAll: every event of a batch must belong to one case');
    const keysUsed = inputs.flatMap((i) => (i.idempotencyKey ? [i.idempotencyKey] : []));
    if (new Set(keysUsed).size !== keysUsed.length) throw new PermanentError('INVALID_INPUT', 'appendAll: an idempotency key appears twice in one batch');
    if (inputs.length === 1) return [await this.append(inputs[0]!)];
    await this.ensureSeeded(caseId);
    const keys = this.redisKeys(caseId);
    const maxAttempts = this.deps.maxAttempts ?? 10_000;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const { seq: headSeq, hash: headHash } = await this.readHead(caseId);
      const built: Array<{ event: CustodyEvent; bytes: Buffer }> = [];
      let prev = { seq: headSeq, hash: headHash };
      for (const input of inputs) {
        const b = this.buildEvent(input, prev.seq, prev.hash);
        built.push(b);
        prev = { seq: b.event.seq, hash: b.event.hash };
      }
      const args = built.flatMap((b, i) => [String(b.event.seq), b.event.hash, b.bytes.toString('utf8'), inputs[i]!.idempotencyKey ?? '']);
      const reply = (await this.deps.redis.eval(APPEND_ALL_LUA, 3, ...keys, String(headSeq), headHash, String(built.length), ...args)) as string[];
      if (reply[0] === 'ok') {
        for (const b of built) metrics.custodyAppends.inc({ action: b.event.action });
        await Promise.all(built.map((b) => this.persist(caseId, b.event.seq, b.bytes)));
        this.deps.logger?.debug({ context: 'custody', caseId, from: built[0]!.event.seq, to: prev.seq }, 'custody events appended');
        return built.map((b) => ({ ...b, created: true }));
      }
      if (reply[0] === 'dup') {
        const out: AppendResult[] = [];
        for (const input of inputs) out.push(await this.append(input));
        return out;
      }
      await backoff(attempt);
    }
    throw new TransientError('STORE_ERROR', `custody append to ${caseId} lost the compare-and-set race ${maxAttempts} times`);
  }

  /**
   * Append one event: gap-free and fork-free among any number of appenders, idempotent by key.
   * Throws TransientError STORE_ERROR when the store write fails after the Redis commit (a retry
   * with the same idempotency key, or `sync`, completes it).
   */
  async append(input: AppendInput): Promise<AppendResult> {
    const { caseId } = input;
    await this.ensureSeeded(caseId);
    const keys = this.redisKeys(caseId);
    const maxAttempts = this.deps.maxAttempts ?? 10_000;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const { seq: prevSeq, hash: prevHash } = await this.readHead(caseId);
      const { event, bytes } = this.buildEvent(input, prevSeq, prevHash);
      const reply = (await this.deps.redis.eval(APPEND_LUA, 3, ...keys, String(prevSeq), prevHash, String(event.seq), event.hash, bytes.toString('utf8'), input.idempotencyKey ?? '')) as [string, string, string?];
      if (reply[0] === 'ok') {
        // Counted once committed (Redis is where the chain is decided); the store copy follows.
        metrics.custodyAppends.inc({ action: event.action });
        await this.persist(caseId, event.seq, bytes);
        this.deps.logger?.debug({ context: 'custody', caseId, seq: event.seq, action: event.action }, 'custody event appended');
        return { event, bytes, created: true };
      }
      if (reply[0] === 'dup') {
        const existing = Buffer.from(reply[2] ?? '', 'utf8');
        const parsed = CustodyEvent.parse(JSON.parse(existing.toString('utf8')));
        await this.persist(caseId, parsed.seq, existing);
        return { event: parsed, bytes: existing, created: false };
      }
      await backoff(attempt);
    }
    throw new TransientError('STORE_ERROR', `custody append to ${caseId} lost the compare-and-set race ${maxAttempts} times`);
  }

  private async persist(caseId: string, seq: number, bytes: Buffer): Promise<void> {
    try {
      await this.deps.store.putRecord(custodyKeys.event(caseId, seq), bytes, { contentType: 'application/json' });
    } catch (err) {
      if (err instanceof ExhibitError && err.code === 'STORE_CONFLICT') {
        throw new IntegrityError('CUSTODY_CHAIN_BROKEN', `custody fork: the store already holds a different event ${seq} for case ${caseId}`, { cause: err });
      }
      if (err instanceof ExhibitError && err.kind !== 'transient') throw err;
      throw new TransientError('STORE_ERROR', `custody event ${seq} of ${caseId} is committed but not yet stored: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Copy every event committed in Redis but missing from the store. Returns how many were copied. */
  async sync(caseId: string): Promise<number> {
    await this.ensureSeeded(caseId);
    const [, eventsKey] = this.redisKeys(caseId);
    const have = new Set(await this.deps.store.list(storeKeys.custody(caseId)));
    const total = await this.deps.redis.llen(eventsKey);
    let copied = 0;
    const batch = 500;
    for (let start = 0; start < total; start += batch) {
      const items = await this.deps.redis.lrangeBuffer(eventsKey, start, Math.min(total, start + batch) - 1);
      for (const [i, bytes] of items.entries()) {
        const seq = start + i + 1;
        if (have.has(custodyKeys.event(caseId, seq))) continue;
        await this.persist(caseId, seq, bytes);
        copied++;
      }
    }
    // Routine when a head is signed while an append is still writing its event (the copy is the
    // same bytes, idempotent); also how a crash between commit and store write is repaired. Info, not warn.
    if (copied > 0) this.deps.logger?.info({ context: 'custody', caseId, copied }, 'custody events copied from Redis to the store');
    return copied;
  }

  /**
   * Sign and timestamp the current head (after `sync`). Idempotent per seq: when a head at this
   * seq is already stored it is completed if needed and returned; concurrent signers agree on the
   * first head written.
   */
  async signHead(caseId: string, opts: SignHeadOptions): Promise<StoredHead> {
    await this.sync(caseId);
    const head = await this.head(caseId);
    return signStoredHead({ store: this.deps.store, clock: this.deps.clock, ...(this.deps.logger ? { logger: this.deps.logger } : {}) }, caseId, head, opts);
  }

  /** Signed heads of a case from the store, in seq order (optionally only those up to `maxSeq`). */
  async readHeads(caseId: string, maxSeq = Number.MAX_SAFE_INTEGER): Promise<StoredHead[]> {
    return readSignedHeads(this.deps.store, caseId, maxSeq);
  }

  /** Every event of a case from the store, in seq order, with the exact stored bytes. */
  async readLog(caseId: string): Promise<StoredEvent[]> {
    return readStoredEvents(this.deps.store, caseId);
  }
}
