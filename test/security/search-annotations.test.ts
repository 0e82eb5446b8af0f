/**
 * Attacks on search, tags and notes (API in-process, real Redis, MinIO and TSA): one test per attack.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SealedCapture } from '../support/sealed-capture.js';
import { startSearchEnv, type SearchEnv } from '../integration/search/setup.js';

const MINE = 'C-SEC-MINE';
const THEIRS = 'C-SEC-THEIRS';

describe('search and annotations under attack', () => {
  let env: SearchEnv;
  let mine: SealedCapture;
  let theirs: SealedCapture;
  const hitsOf = async (user: string, qs: string) => ((await (await env.call(user, 'GET', `/api/search?${qs}`)).json()) as { hits?: Array<{ captureId: string }> }).hits;

  beforeAll(async () => {
    env = await startSearchEnv([
      { name: 'outsider', role: 'analyst', cases: [MINE] },
      { name: 'insider', role: 'analyst', cases: [THEIRS] },
    ]);
    mine = await env.sealPost(MINE, 'telegram', { id: 'm/1', author: { id: 'm', handle: 'shared_handle', displayName: null }, text: 'public statement' });
    theirs = await env.sealPost(THEIRS, 'telegram', { id: 't/1', author: { id: 't', handle: 'shared_handle', displayName: null }, text: 'secret informant location' });
    // The other case's capture is tagged, so tag filters and tag words exist there.
    expect((await env.call('insider', 'POST', `/api/cases/${THEIRS}/captures/${theirs.captureId}/tags`, { tag: 'informant' })).status).toBe(200);
  }, 120_000);
  afterAll(async () => {
    await env?.close();
  });

  it('probing another case by words, prefixes, its tags or a shared handle returns only your own captures', async () => {
    expect(await hitsOf('outsider', 'q=secret')).toEqual([]);
    expect(await hitsOf('outsider', 'q=inform')).toEqual([]);
    expect(await hitsOf('outsider', 'q=shared_handle&tag=informant')).toEqual([]);
    expect((await hitsOf('outsider', 'q=shared_handle'))!.map((h) => h.captureId)).toEqual([mine.captureId]);
    expect((await env.call('outsider', 'GET', `/api/search?q=secret&case=${THEIRS}`)).status).toBe(404);
    expect((await env.s.custody.readLog(THEIRS)).some((e) => e.event.actor.id === 'outsider')).toBe(false);
  });

  it("annotating another case's capture through your own case's path is refused and records nothing", async () => {
    const r = await env.call('outsider', 'POST', `/api/cases/${MINE}/captures/${theirs.captureId}/tags`, { tag: 'planted' });
    expect(r.status).toBe(404);
    const n = await env.call('outsider', 'POST', `/api/cases/${MINE}/captures/${theirs.captureId}/notes`, { note: 'planted' });
    expect(n.status).toBe(404);
    const all = [...(await env.s.custody.readLog(MINE)), ...(await env.s.custody.readLog(THEIRS))].map((e) => e.event);
    expect(all.filter((e) => e.action === 'tag-added' || e.action === 'note-added').map((e) => e.actor.id)).toEqual(['insider']);
  });

  it('a web session cannot add a tag or note without its CSRF token', async () => {
    const signIn = await env.api.app.request('/api/session', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'outsider', token: env.tokens.outsider }) });
    const cookie = signIn.headers.get('set-cookie')!.split(';')[0]!;
    for (const [p, body] of [['tags', { tag: 'x' }], ['notes', { note: 'x' }]] as const) {
      const r = await env.api.app.request(`/api/cases/${MINE}/captures/${mine.captureId}/${p}`, { method: 'POST', headers: { cookie, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      expect(r.status).toBe(403);
      expect(((await r.json()) as { code: string }).code).toBe('CSRF');
    }
    const del = await env.api.app.request(`/api/cases/${MINE}/captures/${mine.captureId}/tags/x`, { method: 'DELETE', headers: { cookie } });
    expect(del.status).toBe(403);
  });

  it('a query built to be expensive (200 one-letter words, a huge limit) is refused before it reaches the index', async () => {
    expect((await env.call('outsider', 'GET', `/api/search?q=${encodeURIComponent('a '.repeat(100).trim())}`)).status).toBe(400);
    expect((await env.call('outsider', 'GET', '/api/search?q=public&limit=100000')).status).toBe(400);
    expect((await env.call('outsider', 'GET', `/api/search?q=public&tag=${'t'.repeat(65)}`)).status).toBe(400);
  });
});
