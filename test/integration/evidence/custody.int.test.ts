import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { systemClock } from '../../../lib/clock.js';
import { CustodyLog, custodyKeys, genesisHash, verifyChain } from '../../../evidence/custody.js';
import { FsStore } from '../../../evidence/fs-store.js';
import { KeyStore } from '../../../evidence/keys.js';
import { verifySignatureRecord } from '../../../evidence/signing.js';
import { sha256Digest } from '../../../evidence/canonical.js';
import { verifyTimestampToken } from '../../../evidence/timestamp.js';
import type { EvidenceStore } from '../../../evidence/store.js';
import { startLocalTsa, type LocalTsa } from '../../support/tsa.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const actor = { type: 'service' as const, id: 'seal-worker', role: 'sealer', authorisedBy: 'analyst.one' };

describe('custody log on real Redis and the fs store', () => {
  let redis: Redis;
  let dir: string;
  let store: FsStore;
  let prefix: string;
  const extra: Redis[] = [];

  beforeAll(() => {
    redis = new Redis(inject('redisUrl'));
  });
  afterAll(() => redis.disconnect());
  // Each test makes a fresh store and Redis prefix with fresh(); clean both up after it.
  afterEach(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    for (const r of extra.splice(0)) r.disconnect();
    await rm(dir, { recursive: true, force: true });
  });
  async function fresh(): Promise<CustodyLog> {
    dir = await mkdtemp(path.join(os.tmpdir(), 'exhibit-custody-'));
    store = await FsStore.open(path.join(dir, 'store'));
    prefix = `t-${randomUUID()}`;
    return new CustodyLog({ redis, store, clock: systemClock, prefix });
  }

  it('4 worker processes appending 500 events to one case leave a gap-free, fork-free chain', async () => {
    await fresh();
    const caseId = 'C-RACE-1';
    const children = [1, 2, 3, 4].map((w) =>
      spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test/support/custody-appender.ts'), inject('redisUrl'), path.join(dir, 'store'), prefix, caseId, '125', String(w)], {
        cwd: ROOT,
        stdio: ['pipe', 'pipe', 'pipe'],
      }),
    );
    const exits = children.map(
      (c) =>
        new Promise<string>((resolve, reject) => {
          let out = '';
          let err = '';
          c.stdout.on('data', (d) => (out += d));
          c.stderr.on('data', (d) => (err += d));
          c.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`appender exited ${code}: ${err}`))));
        }),
    );
    // Let all four load, then release them together.
    await new Promise((r) => setTimeout(r, 3000));
    for (const c of children) c.stdin.end('go\n');
    expect(await Promise.all(exits)).toEqual(['done\n', 'done\n', 'done\n', 'done\n']);

    const log = new CustodyLog({ redis, store, clock: systemClock, prefix });
    const events = await log.readLog(caseId);
    expect(events.map((e) => e.event.seq)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    expect(verifyChain(caseId, events.map((e) => e.bytes))).toEqual([]);
    expect(events[0]!.event.prevHash).toBe(genesisHash(caseId));
    for (let i = 1; i < events.length; i++) expect(events[i]!.event.prevHash).toBe(events[i - 1]!.event.hash);
    // No duplicate seqs in the store, nothing extra, every worker's 125 events present once.
    const files = await readdir(path.join(dir, 'store/cases', caseId, 'custody'));
    expect(files.length).toBe(500);
    expect(new Set(events.map((e) => e.event.eventId)).size).toBe(500);
    const perWorker = new Map<string, Set<number>>();
    for (const e of events) {
      const set = perWorker.get(e.event.actor.id) ?? new Set();
      set.add((e.event.details as { i: number }).i);
      perWorker.set(e.event.actor.id, set);
    }
    expect([...perWorker.values()].map((s) => s.size)).toEqual([125, 125, 125, 125]);
    // The workers really interleaved (not one after the other).
    const switches = events.filter((e, i) => i > 0 && e.event.actor.id !== events[i - 1]!.event.actor.id).length;
    expect(switches).toBeGreaterThan(10);
    expect(await log.head(caseId)).toEqual({ seq: 500, hash: events[499]!.event.hash });
  });

  it('4 independent appenders in one process racing with Promise.all stay gap-free', async () => {
    await fresh();
    const caseId = 'C-RACE-2';
    const logs = [0, 1, 2, 3].map(() => {
      const r = new Redis(inject('redisUrl'));
      extra.push(r);
      return new CustodyLog({ redis: r, store, clock: systemClock, prefix });
    });
    await Promise.all(logs.map(async (log, w) => {
      for (let i = 0; i < 50; i++) await log.append({ caseId, actor, action: 'artifact-sealed', details: { w, i } });
    }));
    const events = await logs[0]!.readLog(caseId);
    expect(events.length).toBe(200);
    expect(verifyChain(caseId, events.map((e) => e.bytes))).toEqual([]);
  });

  it('an idempotency key appends once; a retry returns the existing event', async () => {
    const log = await fresh();
    const caseId = 'C-IDEM';
    const a = await log.append({ caseId, actor, action: 'capture-started', subject: { captureId: randomUUID() }, idempotencyKey: 'start:1' });
    const b = await log.append({ caseId, actor, action: 'capture-started', details: { different: true }, idempotencyKey: 'start:1' });
    const racing = await Promise.all([1, 2, 3].map(() => log.append({ caseId, actor, action: 'capture-finished', idempotencyKey: 'finish:1' })));
    expect(a.created).toBe(true);
    expect(b.created).toBe(false);
    expect(b.event).toEqual(a.event);
    expect(b.bytes.equals(a.bytes)).toBe(true);
    expect(racing.filter((r) => r.created).length).toBe(1);
    expect(new Set(racing.map((r) => r.event.seq))).toEqual(new Set([2]));
    expect((await log.readLog(caseId)).length).toBe(2);
  });

  it('appendAll commits a batch as one consecutive run even while others append', async () => {
    await fresh();
    const caseId = 'C-BATCH';
    const logs = [0, 1, 2].map(() => {
      const r = new Redis(inject('redisUrl'));
      extra.push(r);
      return new CustodyLog({ redis: r, store, clock: systemClock, prefix });
    });
    await Promise.all([
      ...[0, 1].map(async (w) => {
        for (let i = 0; i < 40; i++) await logs[w]!.append({ caseId, actor, action: 'artifact-sealed', details: { w, i } });
      }),
      (async () => {
        for (let b = 0; b < 8; b++) {
          const out = await logs[2]!.appendAll([0, 1, 2, 3, 4].map((i) => ({ caseId, actor, action: 'artifact-sealed' as const, details: { batch: b, i }, idempotencyKey: `batch:${b}:${i}` })));
          expect(out.every((r) => r.created)).toBe(true);
          // Consecutive seqs, each chained to the one before.
          for (let i = 1; i < out.length; i++) {
            expect(out[i]!.event.seq).toBe(out[i - 1]!.event.seq + 1);
            expect(out[i]!.event.prevHash).toBe(out[i - 1]!.event.hash);
          }
        }
      })(),
    ]);
    const events = await logs[0]!.readLog(caseId);
    expect(events.length).toBe(40 * 2 + 8 * 5);
    expect(verifyChain(caseId, events.map((e) => e.bytes))).toEqual([]);
    for (let b = 0; b < 8; b++) {
      const seqs = events.filter((e) => (e.event.details as { batch?: number }).batch === b).map((e) => e.event.seq);
      expect(seqs).toEqual([seqs[0]!, seqs[0]! + 1, seqs[0]! + 2, seqs[0]! + 3, seqs[0]! + 4]);
    }
  });

  it('appendAll again returns the events already committed; a partly committed batch is completed', async () => {
    const log = await fresh();
    const caseId = 'C-BATCH-IDEM';
    const batch = [1, 2, 3].map((i) => ({ caseId, actor, action: 'artifact-sealed' as const, details: { i }, idempotencyKey: `seal:x:${i}` }));
    const first = await log.appendAll(batch);
    const again = await log.appendAll(batch);
    expect(again.map((r) => r.created)).toEqual([false, false, false]);
    expect(again.map((r) => r.event)).toEqual(first.map((r) => r.event));
    // A seal that got as far as one event before crashing: the retry appends only the rest.
    const partial = [4, 5, 6].map((i) => ({ caseId, actor, action: 'artifact-sealed' as const, details: { i }, idempotencyKey: `seal:y:${i}` }));
    const done = await log.append(partial[0]!);
    const retry = await log.appendAll(partial);
    expect(retry.map((r) => r.created)).toEqual([false, true, true]);
    expect(retry[0]!.event).toEqual(done.event);
    const events = await log.readLog(caseId);
    expect(events.map((e) => (e.event.details as { i: number }).i)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(verifyChain(caseId, events.map((e) => e.bytes))).toEqual([]);
  });

  it('appendAll refuses a batch spanning cases or repeating a key, before writing anything', async () => {
    const log = await fresh();
    await expect(log.appendAll([{ caseId: 'C-A', actor, action: 'artifact-sealed' }, { caseId: 'C-B', actor, action: 'artifact-sealed' }])).rejects.toThrow('one case');
    await expect(
      log.appendAll([
        { caseId: 'C-A', actor, action: 'artifact-sealed', idempotencyKey: 'k' },
        { caseId: 'C-A', actor, action: 'artifact-sealed', idempotencyKey: 'k' },
      ]),
    ).rejects.toThrow('twice');
    expect(await log.readLog('C-A')).toEqual([]);
    expect(await log.head('C-A')).toEqual({ seq: 0, hash: genesisHash('C-A') });
  });

  it('a crash between the Redis commit and the store write is repaired by sync and by a retried append', async () => {
    await fresh();
    const caseId = 'C-CRASH';
    let failNext = false;
    const flaky: EvidenceStore = Object.create(store) as EvidenceStore;
    flaky.putRecord = async (key, bytes, o) => {
      if (failNext && key.includes('/custody/')) {
        failNext = false;
        throw new Error('disk on fire');
      }
      return store.putRecord(key, bytes, o);
    };
    const log = new CustodyLog({ redis, store: flaky, clock: systemClock, prefix });
    await log.append({ caseId, actor, action: 'capture-started' });
    failNext = true;
    const err = await log.append({ caseId, actor, action: 'capture-finished', idempotencyKey: 'fin' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'TransientError', code: 'STORE_ERROR' });
    expect((await log.readLog(caseId)).length).toBe(1);
    // The event is committed: sync copies it.
    expect(await log.sync(caseId)).toBe(1);
    expect((await log.readLog(caseId)).map((e) => e.event.action)).toEqual(['capture-started', 'capture-finished']);
    // A retried append with the same key returns it and appends nothing.
    failNext = true;
    await expect(log.append({ caseId, actor, action: 'capture-finished', idempotencyKey: 'fin2' })).rejects.toMatchObject({ code: 'STORE_ERROR' });
    const retry = await log.append({ caseId, actor, action: 'capture-finished', idempotencyKey: 'fin2' });
    expect(retry.created).toBe(false);
    expect(retry.event.seq).toBe(3);
    expect((await log.readLog(caseId)).length).toBe(3);
    expect(verifyChain(caseId, (await log.readLog(caseId)).map((e) => e.bytes))).toEqual([]);
  });

  it('a Redis that lost the case is seeded from the store and the chain continues (idempotency keys too)', async () => {
    const log = await fresh();
    const caseId = 'C-SEED';
    for (let i = 0; i < 5; i++) await log.append({ caseId, actor, action: 'artifact-sealed', idempotencyKey: `k${i}` });
    const keys = await redis.keys(`${prefix}:*`);
    await redis.del(...keys);
    const log2 = new CustodyLog({ redis, store, clock: systemClock, prefix });
    const dup = await log2.append({ caseId, actor, action: 'artifact-sealed', idempotencyKey: 'k2' });
    expect(dup.created).toBe(false);
    expect(dup.event.seq).toBe(3);
    const next = await log2.append({ caseId, actor, action: 'viewed' });
    expect(next.event.seq).toBe(6);
    expect(verifyChain(caseId, (await log2.readLog(caseId)).map((e) => e.bytes))).toEqual([]);
  });

  it('refuses to continue a broken log found in the store', async () => {
    const log = await fresh();
    const caseId = 'C-BROKEN';
    await log.append({ caseId, actor, action: 'viewed' });
    await log.append({ caseId, actor, action: 'viewed' });
    // Replace event 2 on disk (the store is write-once for the application, not for an attacker).
    const { chmod, writeFile } = await import('node:fs/promises');
    const f = path.join(dir, 'store', custodyKeys.event(caseId, 2));
    await chmod(f, 0o644);
    const bytes = (await store.getBytes(custodyKeys.event(caseId, 2))).toString().replace('"viewed"', '"downloaded"');
    await writeFile(f, bytes);
    await redis.del(...(await redis.keys(`${prefix}:*`)));
    const log2 = new CustodyLog({ redis, store, clock: systemClock, prefix });
    await expect(log2.append({ caseId, actor, action: 'viewed' })).rejects.toMatchObject({ name: 'IntegrityError', code: 'CUSTODY_CHAIN_BROKEN' });
  });

  describe('signed heads', () => {
    let tsa: LocalTsa;
    beforeAll(async () => {
      tsa = await startLocalTsa();
    });
    afterAll(() => tsa.close());

    it('signHead signs and timestamps {caseId, seq, hash, time}; repeated signing at one seq is a no-op', async () => {
      const log = await fresh();
      const keys = new KeyStore(path.join(dir, 'keys'));
      const caseId = 'C-HEAD';
      for (let i = 0; i < 3; i++) await log.append({ caseId, actor, action: 'viewed' });
      const opts = { keys, tsas: [{ url: tsa.url }], timestamp: { trustAnchors: [tsa.caCertPem] } };
      const h = await log.signHead(caseId, opts);
      expect(h.head).toMatchObject({ caseId, seq: 3, hash: (await log.head(caseId)).hash });
      const digest = sha256Digest(h.headBytes);
      const key = await keys.activeKey();
      verifySignatureRecord(h.signature, { digest, publicKeyPem: key.publicKey.export({ type: 'spki', format: 'pem' }).toString() });
      expect(h.tokens.length).toBe(1);
      const facts = await verifyTimestampToken(await store.getBytes(h.tokens[0]!.tsrKey), { digest, trustAnchors: [tsa.caCertPem] });
      expect(facts.genTime).toBe(h.timestamps[0]!.genTime);
      const before = tsa.requests();
      const again = await log.signHead(caseId, opts);
      expect(again.headBytes.equals(h.headBytes)).toBe(true);
      expect(tsa.requests()).toBe(before);
      // Concurrent signers at a new seq agree on one head.
      await log.append({ caseId, actor, action: 'viewed' });
      const many = await Promise.all([1, 2, 3].map(() => log.signHead(caseId, opts)));
      expect(new Set(many.map((m) => m.headBytes.toString())).size).toBe(1);
      expect((await log.readHeads(caseId)).map((x) => x.head.seq)).toEqual([3, 4]);
    });

    it('a real TSA answering 503 first is retried and then gives a verified token', async () => {
      const flaky = await startLocalTsa({ failFirst: 1 });
      try {
        const { requestTimestamp } = await import('../../../evidence/timestamp.js');
        const tok = await requestTimestamp(`sha256:${'ab'.repeat(32)}`, { url: flaky.url }, { clock: systemClock, trustAnchors: [flaky.caCertPem], attempts: 2, backoffMs: 10 });
        expect(flaky.requests()).toBe(2);
        expect(Math.abs(tok.record.clockSkewMs)).toBeLessThan(5000);
        // Tokens from this TSA do not verify against another TSA's CA.
        await expect(verifyTimestampToken(tok.tsr, { digest: tok.record.digest, trustAnchors: [tsa.caCertPem] })).rejects.toMatchObject({ code: 'TIMESTAMP_INVALID' });
      } finally {
        await flaky.close();
      }
    });

    it('with the TSA down the head is still signed and the failure is reported', async () => {
      const log = await fresh();
      const keys = new KeyStore(path.join(dir, 'keys'));
      const caseId = 'C-HEAD-DOWN';
      await log.append({ caseId, actor, action: 'viewed' });
      const h = await log.signHead(caseId, { keys, tsas: [{ url: 'http://127.0.0.1:9/tsa' }], timestamp: { trustAnchors: [tsa.caCertPem], attempts: 1 } });
      expect(h.tokens).toEqual([]);
      expect(h.timestampFailures[0]).toMatchObject({ tsaUrl: 'http://127.0.0.1:9/tsa', failure: { code: 'TIMESTAMP_FAILED', kind: 'transient' } });
    });
  });
});
