/**
 * The case graph kept up to date from a real evidence store (sealed, signed and timestamped
 * captures; custody on real Redis): after a new capture is sealed and an analyst assertion made,
 * the next read reads only that capture's post.json and the new custody events, and equals a full
 * build from the store.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LiveCaseGraphs, storeSource } from '../../../analysis/live-graph.js';
import { assertIdentity } from '../../../analysis/identity.js';
import { buildCaseGraph } from '../../../analysis/sealed-posts.js';
import { storeKeys, type EvidenceStore } from '../../../evidence/store.js';
import { startEvidenceEnv, type EvidenceEnv } from '../../support/evidence-env.js';
import { captureArtifacts, syntheticCase } from '../../support/synthetic-posts.js';

const CASE = 'case-live-graph-1';

/** The store, counting the post.json blobs and custody events read through it. */
function counting(store: EvidenceStore, postKeys: () => Set<string>) {
  const reads = { posts: 0, custody: 0 };
  const wrapped = new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'getBytes')
        return async (key: string) => {
          if (postKeys().has(key)) reads.posts++;
          if (key.includes('/custody/')) reads.custody++;
          return target.getBytes(key);
        };
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { store: wrapped, reads };
}

describe('case graph kept up to date from the store', () => {
  let env: EvidenceEnv;
  const caps = syntheticCase({ accounts: 4, posts: 6, seed: 3 });
  const postKeys = new Set<string>();

  const seal = async (i: number) => {
    const s = await env.seal(CASE, { extra: captureArtifacts(caps[i]!) });
    postKeys.add(s.manifest.artifacts.find((a) => a.role === 'post')!.storeKey);
  };

  beforeAll(async () => {
    env = await startEvidenceEnv(inject('redisUrl'), { pdf: false });
    for (let i = 0; i < 5; i++) await seal(i);
  }, 120_000);

  afterAll(async () => {
    await env?.close();
  });

  it('reads only the newly sealed post.json and the new custody events, and equals a full build', async () => {
    const { store, reads } = counting(env.store, () => postKeys);
    const live = new LiveCaseGraphs(storeSource(store));
    expect((await live.read(CASE)).added).toBe(5);
    expect(reads.posts).toBe(5);

    await seal(5);
    await assertIdentity(env.custody, { caseId: CASE, actor: { type: 'user', id: 'analyst.one', role: 'analyst' }, kind: 'linked', accounts: ['account:telegram:ch_0', 'account:telegram:ch_1'], reason: 'same contact number' });
    reads.posts = 0;
    reads.custody = 0;
    const second = await live.read(CASE);
    expect(second.added).toBe(1);
    expect(reads.posts).toBe(1);
    // The new custody events only (the seal of one capture and the assertion), not the whole log.
    const total = (await env.store.list(storeKeys.custody(CASE))).length;
    expect(reads.custody).toBeGreaterThan(0);
    expect(reads.custody).toBeLessThan(total / 2);

    const full = await buildCaseGraph(env.store, [CASE]);
    expect(JSON.stringify(second.graph.snapshot())).toBe(JSON.stringify(full.graph.snapshot()));
    expect(second.graph.snapshot().edges.filter((e) => e.basis === 'asserted-by-analyst')).toHaveLength(1);
  });
});
