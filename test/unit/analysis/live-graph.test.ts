import { describe, expect, it } from 'vitest';
import { CaseGraph, type SealedPost } from '../../../analysis/case-graph.js';
import { LiveCaseGraphs, type SealedSource } from '../../../analysis/live-graph.js';
import type { SkippedCapture } from '../../../analysis/sealed-posts.js';
import { IntegrityError } from '../../../lib/errors.js';
import type { CustodyEvent } from '../../../schemas/custody.js';
import { asSealedPost, syntheticCase } from '../../support/synthetic-posts.js';

const CASE = 'case-live-graph';
const capId = (i: number) => `0190a000-0000-7000-8000-${String(i).padStart(12, '0')}`;

/** A case in memory that counts what is read from it, as the store would be read. */
function fakeCase() {
  const posts = new Map<string, SealedPost | SkippedCapture>();
  const events: CustodyEvent[] = [];
  const reads: string[] = [];
  const eventReads: number[] = [];
  let failOn: string | null = null;
  const source: SealedSource = {
    captureIds: async () => [...posts.keys()].sort(),
    readPost: async (_caseId, id) => {
      reads.push(id);
      if (id === failOn) throw new IntegrityError('HASH_MISMATCH', `post.json of ${id} does not match`);
      return posts.get(id)!;
    },
    eventsAfter: async (_caseId, seq) => {
      eventReads.push(seq);
      return events.filter((e) => e.seq > seq);
    },
  };
  return { posts, events, reads, eventReads, source, failOn: (id: string | null) => (failOn = id) };
}

const assertion = (seq: number, a: string, b: string) =>
  ({
    schemaVersion: 'exhibit.custody-event/1', caseId: CASE, seq, eventId: `0190b000-0000-7000-8000-${String(seq).padStart(12, '0')}`, time: '2026-03-02T10:00:00Z',
    actor: { kind: 'user', id: 'analyst-1' }, action: 'identity-asserted', subject: {}, details: { kind: 'same', accounts: [a, b], reason: 'same phone number in both bios' },
    prevHash: `sha256:${'0'.repeat(64)}`, hash: `sha256:${String(seq).padStart(64, '0')}`,
  }) as unknown as CustodyEvent;

function fullBuild(posts: Iterable<SealedPost | SkippedCapture>, events: CustodyEvent[]): string {
  const g = new CaseGraph();
  for (const p of posts) if (!('reason' in p)) g.addCapture(p);
  for (const e of events) g.addAssertion(e);
  return JSON.stringify(g.snapshot());
}

describe('LiveCaseGraphs', () => {
  const caps = syntheticCase({ accounts: 10, posts: 41, seed: 11 }).map((c, i) => asSealedPost(CASE, capId(i), c));

  it('a read after one new sealed capture reads only that post.json, and equals a full build', async () => {
    const f = fakeCase();
    for (const c of caps.slice(0, 40)) f.posts.set(c.captureId, c);
    f.events.push(assertion(3, 'account:telegram:ch_1', 'account:telegram:ch_2'));
    const live = new LiveCaseGraphs(f.source);
    const first = await live.read(CASE);
    expect(first.added).toBe(40);
    expect(f.reads).toHaveLength(40);

    const last = caps[40]!;
    f.posts.set(last.captureId, last);
    f.events.push(assertion(7, 'account:telegram:ch_3', 'account:telegram:ch_4'));
    f.reads.length = 0;
    const second = await live.read(CASE);
    expect(f.reads).toEqual([last.captureId]);
    expect(second.added).toBe(1);
    expect(f.eventReads).toEqual([0, 3]); // custody events after the last seq read, not the whole log
    expect(JSON.stringify(second.graph.snapshot())).toBe(fullBuild(f.posts.values(), f.events));
    expect(second.graph.snapshot().edges.filter((e) => e.basis === 'asserted-by-analyst')).toHaveLength(2);

    // Nothing new: nothing read, same graph.
    f.reads.length = 0;
    const third = await live.read(CASE);
    expect(f.reads).toEqual([]);
    expect(third.added).toBe(0);
  });

  it('a capture that fails its digest check leaves the graph as it was, and is read again next time', async () => {
    const f = fakeCase();
    for (const c of caps.slice(0, 5)) f.posts.set(c.captureId, c);
    const live = new LiveCaseGraphs(f.source);
    const before = JSON.stringify((await live.read(CASE)).graph.snapshot());
    for (const c of caps.slice(5, 8)) f.posts.set(c.captureId, c);
    f.failOn(caps[6]!.captureId);
    await expect(live.read(CASE)).rejects.toMatchObject({ code: 'HASH_MISMATCH' });
    f.failOn(null);
    f.reads.length = 0;
    const after = await live.read(CASE);
    expect(before).not.toBe(JSON.stringify(after.graph.snapshot()));
    expect(f.reads.sort()).toEqual(caps.slice(5, 8).map((c) => c.captureId).sort());
    expect(after.added).toBe(3);
    expect(JSON.stringify(after.graph.snapshot())).toBe(fullBuild(f.posts.values(), []));
  });

  it('a skipped capture is listed on every read and read once', async () => {
    const f = fakeCase();
    f.posts.set(caps[0]!.captureId, caps[0]!);
    const skipped = { captureId: capId(99), reason: 'no post.json in the capture (not a platform capture)' };
    f.posts.set(skipped.captureId, skipped);
    const live = new LiveCaseGraphs(f.source);
    expect((await live.read(CASE)).skipped).toEqual([skipped]);
    f.reads.length = 0;
    expect((await live.read(CASE)).skipped).toEqual([skipped]);
    expect(f.reads).toEqual([]);
  });

  it('concurrent reads fold each capture in once', async () => {
    const f = fakeCase();
    for (const c of caps.slice(0, 20)) f.posts.set(c.captureId, c);
    const live = new LiveCaseGraphs(f.source);
    const [a, b] = await Promise.all([live.read(CASE), live.read(CASE)]);
    expect(a.added + b.added).toBe(20);
    expect(f.reads).toHaveLength(20);
  });

  it('keeps at most maxCases graphs; a dropped one is rebuilt in full when read again', async () => {
    const f = fakeCase();
    for (const c of caps.slice(0, 3)) f.posts.set(c.captureId, c);
    const live = new LiveCaseGraphs(f.source, { maxCases: 1 });
    await live.read('A');
    await live.read('B');
    f.reads.length = 0;
    expect((await live.read('A')).added).toBe(3);
    expect(f.reads).toHaveLength(3);
  });
});
