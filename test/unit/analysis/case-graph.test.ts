import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { newId } from '../../../lib/clock.js';
import { CaseGraph, dhashDistance } from '../../../analysis/case-graph.js';
import { graphMeasures } from '../../../analysis/graph-measures.js';
import { filterGraph } from '../../../analysis/graph-view.js';
import { asSealedPost, edgeLine, networkScenario, syntheticCapture, syntheticCase } from '../../support/synthetic-posts.js';

const CASE = 'case-graph-unit';

function build(caps: ReturnType<typeof asSealedPost>[], opts = {}): CaseGraph {
  const g = new CaseGraph(opts);
  for (const c of caps) g.addCapture(c);
  return g;
}

describe('CaseGraph', () => {
  it('reads exactly the expected nodes and edges from the network scenario', () => {
    const s = networkScenario();
    const snap = build(s.captures.map((c) => asSealedPost(CASE, newId(), c))).snapshot();
    expect(snap.nodes.map((n) => n.id)).toEqual(s.nodes);
    expect(snap.edges.map(edgeLine).sort()).toEqual(s.edges);
    expect(snap.edges.find((e) => e.type === 'similar-media')!.distance).toBe(2);
    expect(snap.edges.every((e) => e.basis === 'observed' && e.provenance.length > 0)).toBe(true);
    expect(snap.nodes.every((n) => n.provenance.length > 0)).toBe(true);
    // The hashtag keeps both spellings as observed; the key folds them.
    const tag = snap.nodes.find((n) => n.kind === 'hashtag')!;
    expect(tag.handles.map((h) => h.value).sort()).toEqual(['أخبار', 'اخبار']);
  });

  it('never merges accounts: the same display name and handle key on two ids stay two nodes', () => {
    const a = syntheticCapture('x', { id: '1', author: { id: '100', handle: 'Layla', displayName: 'ليلى' } });
    const b = syntheticCapture('x', { id: '2', author: { id: '200', handle: 'layla_', displayName: 'ليلى' } });
    const snap = build([a, b].map((c) => asSealedPost(CASE, newId(), c))).snapshot();
    expect(snap.nodes.filter((n) => n.kind === 'account').map((n) => n.id)).toEqual(['account:x:100', 'account:x:200']);
    expect(snap.edges.some((e) => e.source.startsWith('account:') && e.target.startsWith('account:'))).toBe(false);
  });

  it('counts distinct observations: the same capture twice adds nothing, a re-capture of a post adds a source but no weight', () => {
    const s = networkScenario();
    const once = asSealedPost(CASE, newId(), s.captures[2]!);
    const g = build([once]);
    expect(g.addCapture(once)).toBe(false);
    const recapture = asSealedPost(CASE, newId(), s.captures[2]!);
    expect(g.addCapture(recapture)).toBe(true);
    const mention = g.snapshot().edges.find((e) => e.type === 'mentions')!;
    expect(mention.weight).toBe(1);
    expect(mention.provenance.map((p) => (p.basis === 'observed' ? p.captureId : '')).sort()).toEqual([once.captureId, recapture.captureId].sort());
    // Two different posts stating the same mention weigh 2.
    const again = syntheticCapture('mastodon', { id: '9003', author: { id: '111', handle: 'layla@social.example', displayName: null }, mentions: [{ handle: 'omar@social.example', id: '222' }] });
    g.addCapture(asSealedPost(CASE, newId(), again));
    expect(g.snapshot().edges.find((e) => e.type === 'mentions')!.weight).toBe(2);
  });

  it('incremental updates give the same graph as a full build, in any order', () => {
    const caps = syntheticCase({ accounts: 12, posts: 60, seed: 7 }).map((c, i) => asSealedPost(CASE, `0190a000-0000-7000-8000-${String(i).padStart(12, '0')}`, c));
    const full = JSON.stringify(build(caps).snapshot());
    fc.assert(
      fc.property(fc.shuffledSubarray(caps, { minLength: caps.length, maxLength: caps.length }), (order) => {
        const g = build(order.slice(0, -1));
        g.addCapture(order.at(-1)!);
        expect(JSON.stringify(g.snapshot())).toBe(full);
      }),
      { numRuns: 25 },
    );
  });

  it('keeps platform-native URIs of posts and of referenced posts, and reads documents without them', () => {
    const c = syntheticCapture('bluesky', { id: 'rk1', author: { id: 'did:plc:a', handle: 'a.bsky.social', displayName: null }, repostOf: { id: 'rk0', url: null, authorHandle: 'b.bsky.social', uri: 'at://did:plc:b/app.bsky.feed.post/rk0' } });
    c.doc.post!.uri = 'at://did:plc:a/app.bsky.feed.post/rk1';
    const old = syntheticCapture('bluesky', { id: 'rk2', author: { id: 'did:plc:a', handle: 'a.bsky.social', displayName: null }, repostOf: { id: 'rk9', url: null, authorHandle: null } });
    const nodes = build([c, old].map((x) => asSealedPost(CASE, newId(), x))).snapshot().nodes;
    expect(nodes.find((n) => n.id === 'post:bluesky:rk1')!.attrs.uri).toBe('at://did:plc:a/app.bsky.feed.post/rk1');
    expect(nodes.find((n) => n.id === 'post:bluesky:rk0')!.attrs.uri).toBe('at://did:plc:b/app.bsky.feed.post/rk0');
    expect(nodes.find((n) => n.id === 'post:bluesky:rk9')!.attrs.uri).toBeUndefined();
  });

  it('a forward names its origin channel by handle and keeps the shown name as a display name', () => {
    const c = syntheticCapture('telegram', { id: 'sahel_news/150', author: { id: 'sahel_news', handle: 'sahel_news', displayName: 'Sahel News' }, repostOf: { id: 'desert_wire/77', url: 'https://t.me/desert_wire/77', authorHandle: 'desert_wire', authorDisplayName: 'وكالة الصحراء' } });
    const snap = build([asSealedPost(CASE, newId(), c)]).snapshot();
    const origin = snap.nodes.find((n) => n.id === 'account:telegram:desert_wire')!;
    expect(origin.handles.map((h) => [h.value, h.pointer])).toEqual([['desert_wire', '/post/repostOf/authorHandle']]);
    expect(origin.displayNames.map((h) => [h.value, h.pointer])).toEqual([['وكالة الصحراء', '/post/repostOf/authorDisplayName']]);
    expect(snap.edges.some((e) => e.type === 'reposts' && e.source === 'account:telegram:sahel_news' && e.target === origin.id)).toBe(true);
  });

  it('similar-media honours the configured Hamming distance', () => {
    const s = networkScenario();
    const caps = s.captures.map((c) => asSealedPost(CASE, newId(), c));
    expect(build(caps, { similarMediaMaxDistance: 1 }).snapshot().edges.some((e) => e.type === 'similar-media')).toBe(false);
    expect(build(caps, { similarMediaMaxDistance: 2 }).snapshot().edges.some((e) => e.type === 'similar-media')).toBe(true);
    expect(dhashDistance('dhash:0000000000000000', 'dhash:ffffffffffffffff')).toBe(64);
    expect(dhashDistance('dhash:zz', 'dhash:0000000000000000')).toBeNull();
  });

  it('dHash distance counts the differing bits of the 64 (checked against a bit-by-bit count)', () => {
    const hex = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((v) => `dhash:${v.toString(16).padStart(16, '0')}`);
    fc.assert(
      fc.property(hex, hex, (a, b) => {
        const x = BigInt(`0x${a.slice(6)}`) ^ BigInt(`0x${b.slice(6)}`);
        const expected = [...x.toString(2)].filter((c) => c === '1').length;
        expect(dhashDistance(a, b)).toBe(expected);
      }),
      { numRuns: 200 },
    );
  });

  it('filters by edge type, platform, time and one account neighbourhood', () => {
    const s = networkScenario();
    const snap = build(s.captures.map((c) => asSealedPost(CASE, newId(), c))).snapshot();
    expect(filterGraph(snap, { edgeTypes: ['mentions'] }).edges.map((e) => e.type)).toEqual(['mentions']);
    expect(filterGraph(snap, { platforms: ['telegram'] }).nodes.some((n) => n.platform === 'mastodon')).toBe(false);
    const feb12 = filterGraph(snap, { since: '2026-02-12T00:00:00Z', until: '2026-02-12T23:59:59Z' });
    expect(feb12.edges.some((e) => e.type === 'reposts')).toBe(false);
    expect(feb12.edges.some((e) => e.type === 'mentions')).toBe(true);
    const omar = filterGraph(snap, { account: '@Omar@social.example' });
    expect(omar.nodes.map((n) => n.id).sort()).toEqual(['account:mastodon:111', 'account:mastodon:222', 'post:mastodon:9002']);
  });

  it('measures: degree, forwarded sources, shared media, components, betweenness', () => {
    const s = networkScenario();
    const m = graphMeasures(build(s.captures.map((c) => asSealedPost(CASE, newId(), c))).snapshot());
    expect(m.accounts).toBe(4);
    expect(m.mostForwarded).toEqual([{ id: 'account:telegram:news_ar', label: '@news_ar', reposts: 1, reposters: 1 }]);
    expect(m.sharedMedia).toEqual([{ a: '@news_ar', b: '@relay_ch', posts: 1 }]);
    expect(m.components.map((c) => c.size)).toEqual([2, 2]);
    expect(m.degree.find((d) => d.id === 'account:mastodon:111')).toMatchObject({ degree: 1, weightedDegree: 3 });
    expect(m.betweenness!.every((b) => b.score === 0)).toBe(true);
  });
});
