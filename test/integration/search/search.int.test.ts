/**
 * Search, tags and notes through the API on real Redis, MinIO and the OpenSSL TSA, with sealed
 * fixture captures: Arabic typed without diacritics finds the post; a case the reader is not a
 * member of is never searched; each search with hits is a custody read; tags and notes are custody
 * events that leave the sealed capture byte-identical, filter the case list and are searchable.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Digest } from '../../../evidence/canonical.js';
import { storeKeys } from '../../../evidence/store.js';
import type { SealedCapture } from '../../support/sealed-capture.js';
import { startSearchEnv, type SearchEnv } from './setup.js';

const A = 'C-SEARCH-A';
const B = 'C-SEARCH-B';
const AR_TEXT = 'أُعْلِنَتْ حَالَةُ الطَّوَارِئِ فِي الْمَدِينَةِ بَعْدَ الإنْفِجَار';

describe('search, tags and notes (API, real Redis/MinIO/TSA)', () => {
  let env: SearchEnv;
  const c: Record<string, SealedCapture> = {};
  const json = async (r: Response) => (await r.json()) as Record<string, unknown> & { hits: Array<{ captureId: string; caseId: string; excerpt: string | null; tags: string[]; matchedIn: string[] }> };
  const search = (user: string, q: string, extra = '') => env.call(user, 'GET', `/api/search?q=${encodeURIComponent(q)}${extra}`);
  const searchEvents = async (caseId: string) => (await env.s.custody.readLog(caseId)).map((e) => e.event).filter((e) => e.action === 'viewed' && e.details.view === 'search');

  beforeAll(async () => {
    env = await startSearchEnv([
      { name: 'analyst-a', role: 'analyst', cases: [A] },
      { name: 'analyst-ab', role: 'analyst', cases: [A, B] },
      { name: 'prosecutor-a', role: 'prosecutor', cases: [A] },
      { name: 'auditor-a', role: 'auditor', cases: [A] },
    ]);
    c.ar = await env.sealPost(A, 'telegram', { id: 'sahel/101', author: { id: 'sahel', handle: 'sahel_news', displayName: 'أخبار الساحل' }, text: AR_TEXT, hashtags: ['سوريا'], mentions: [{ handle: 'layla@social.example' }], links: ['https://news.example/story/42'], published: '2026-04-01T08:00:00Z' });
    c.fa = await env.sealPost(A, 'x', { id: '777', author: { id: '9', handle: 'tehran_desk', displayName: 'میز تهران' }, text: 'گزارش‌های تازه از کتابخانه ملی' }, { replies: [{ id: '778', author: { id: '10', handle: 'reply_guy', displayName: null }, text: 'پاسخ درباره‌ی انفجار' }] });
    c.web = await env.sealPage(A, 'https://www.example.org/reports/weekly');
    c.other = await env.sealPost(B, 'telegram', { id: 'other/5', author: { id: 'o', handle: 'other_channel', displayName: null }, text: 'حالة الطوارئ في مدينة أخرى' });
  }, 120_000);
  afterAll(async () => {
    await env?.close();
  });

  it('finds the Arabic post typed without diacritics, shows its text as recorded, and records the read on the case log', async () => {
    const r = await search('analyst-a', 'اعلنت حالة الطوارئ');
    expect(r.status).toBe(200);
    const body = await json(r);
    expect(body.hits.map((h) => h.captureId)).toEqual([c.ar!.captureId]);
    expect(body.hits[0]!.excerpt).toBe(AR_TEXT);
    expect(body.cases).toEqual([A]);
    expect(String(body.normalisation)).toMatch(/^exhibit\.search-fold\/1/);
    const events = await searchEvents(A);
    expect(events).toHaveLength(1);
    expect(events[0]!.actor).toEqual({ type: 'user', id: 'analyst-a', role: 'analyst' });
    expect(events[0]!.details).toMatchObject({ via: 'api', view: 'search', query: 'اعلنت حالة الطوارئ', captureIds: [c.ar!.captureId] });
    // The index is kept beside the state, and rebuildable: it is not in the evidence store.
    expect(existsSync(path.join(env.stateDir, 'search', 'index.json'))).toBe(true);
    expect((await env.s.store.list('search')).length).toBe(0);
  });

  it('finds by handle, display name, hashtag, mention, link, page URL, a reply of a capture, and Persian typed with Arabic letters', async () => {
    const ids = async (q: string) => (await json(await search('analyst-a', q))).hits.map((h) => h.captureId);
    expect(await ids('@sahel_news')).toEqual([c.ar!.captureId]);
    expect(await ids('اخبار الساحل')).toEqual([c.ar!.captureId]);
    expect(await ids('#سوريا')).toEqual([c.ar!.captureId]);
    expect(await ids('layla')).toEqual([c.ar!.captureId]);
    expect(await ids('news.example/story/42')).toEqual([c.ar!.captureId]);
    expect(await ids('reports weekly')).toEqual([c.web!.captureId]);
    expect(await ids('كتابخانه ملي')).toEqual([c.fa!.captureId]);
    expect(await ids('درباره')).toEqual([c.fa!.captureId]);
    expect(await ids('انفجار').then((x) => x.sort())).toEqual([c.ar!.captureId, c.fa!.captureId].sort());
  });

  it('never returns captures of a case the reader is not a member of; naming that case is 404', async () => {
    expect((await json(await search('analyst-a', 'الطوارئ'))).hits.map((h) => h.caseId)).toEqual([A]);
    expect((await json(await search('analyst-a', 'مدينة اخرى'))).hits).toEqual([]);
    expect((await search('analyst-a', 'الطوارئ', `&case=${B}`)).status).toBe(404);
    const both = await json(await search('analyst-ab', 'الطوارئ'));
    expect(both.hits.map((h) => h.caseId).sort()).toEqual([A, B]);
    expect((await json(await search('analyst-ab', 'الطوارئ', `&case=${B}`))).hits.map((h) => h.captureId)).toEqual([c.other!.captureId]);
    // The search by analyst-a that found nothing in B left nothing on B's log; analyst-ab's did.
    expect((await searchEvents(B)).map((e) => e.actor.id)).toEqual(['analyst-ab', 'analyst-ab']);
  });

  it('refuses bad queries and readers without access: too long, no words, missing; auditor and no token', async () => {
    expect((await search('analyst-a', 'ا'.repeat(201))).status).toBe(400);
    const noWords = await search('analyst-a', '؟ ، !!');
    expect(noWords.status).toBe(400);
    expect(((await noWords.json()) as { message: string }).message).toMatch(/no words/);
    expect((await env.call('analyst-a', 'GET', '/api/search')).status).toBe(400);
    expect((await search('auditor-a', 'الطوارئ')).status).toBe(403);
    expect((await env.api.app.request('/api/search?q=x')).status).toBe(401);
  });

  it('catches up with a capture sealed after the index was built', async () => {
    expect((await json(await search('analyst-a', 'قافلة'))).hits).toEqual([]);
    const late = await env.sealPost(A, 'telegram', { id: 'sahel/102', author: { id: 'sahel', handle: 'sahel_news', displayName: 'أخبار الساحل' }, text: 'وصلت القافِلَة إلى المدينة' });
    expect((await json(await search('analyst-a', 'قافلة'))).hits.map((h) => h.captureId)).toEqual([late.captureId]);
  });

  it('tags and notes are custody events naming the sealed manifest; the capture stays byte-identical; list filter and search see them', async () => {
    const base = `/api/cases/${A}/captures/${c.fa!.captureId}`;
    const manifestBefore = await env.s.store.getBytes(storeKeys.manifest(A, c.fa!.captureId));
    const add = await env.call('analyst-a', 'POST', `${base}/tags`, { tag: 'Priority' });
    expect(add.status).toBe(200);
    expect(await add.json()).toMatchObject({ recorded: true, annotations: { tags: [{ tag: 'Priority', by: { id: 'analyst-a' } }] } });
    // The same tag again (other case, other letters) records nothing.
    expect(await (await env.call('analyst-a', 'POST', `${base}/tags`, { tag: 'PRIORITY ' })).json()).toMatchObject({ recorded: false, seq: null });
    const note = await env.call('analyst-a', 'POST', `${base}/notes`, { note: 'Compare with the إعلان of April\nsecond line' });
    expect(note.status).toBe(201);
    const log = (await env.s.custody.readLog(A)).map((e) => e.event).filter((e) => e.subject.captureId === c.fa!.captureId && ['tag-added', 'note-added'].includes(e.action));
    expect(log.map((e) => [e.action, e.actor.id, e.subject.digests])).toEqual([
      ['tag-added', 'analyst-a', [c.fa!.manifestDigest]],
      ['note-added', 'analyst-a', [c.fa!.manifestDigest]],
    ]);
    expect(log[1]!.details).toEqual({ note: 'Compare with the إعلان of April\nsecond line', via: 'api' });
    expect(sha256Digest(await env.s.store.getBytes(storeKeys.manifest(A, c.fa!.captureId)))).toBe(sha256Digest(manifestBefore));

    const list = (await (await env.call('analyst-a', 'GET', `/api/cases/${A}/captures?tag=priority`)).json()) as { captures: Array<{ captureId: string; tags: string[] }> };
    expect(list.captures.map((x) => [x.captureId, x.tags])).toEqual([[c.fa!.captureId, ['Priority']]]);
    expect((await json(await search('analyst-a', 'priority'))).hits.map((h) => h.captureId)).toEqual([c.fa!.captureId]);
    expect((await json(await search('analyst-a', 'اعلان'))).hits.map((h) => [h.captureId, h.matchedIn])).toEqual([[c.fa!.captureId, ['notes']]]);
    expect((await json(await search('analyst-a', 'sahel_news', '&tag=Priority'))).hits).toEqual([]);

    const removed = await env.call('analyst-a', 'DELETE', `${base}/tags/${encodeURIComponent('priority')}`);
    expect(await removed.json()).toMatchObject({ recorded: true, annotations: { tags: [] } });
    expect(((await (await env.call('analyst-a', 'GET', `/api/cases/${A}/captures?tag=priority`)).json()) as { captures: unknown[] }).captures).toEqual([]);
    expect((await json(await search('analyst-a', 'priority'))).hits).toEqual([]);
    const annotations = (await (await env.call('prosecutor-a', 'GET', `${base}/annotations`)).json()) as { tags: unknown[]; notes: Array<{ note: string }> };
    expect(annotations.tags).toEqual([]);
    expect(annotations.notes.map((n) => n.note)).toEqual(['Compare with the إعلان of April\nsecond line']);
  });

  it('refuses annotations from other roles, of other cases, of unknown captures, and bad tags or notes', async () => {
    const base = `/api/cases/${A}/captures/${c.ar!.captureId}`;
    expect((await env.call('prosecutor-a', 'POST', `${base}/tags`, { tag: 'x' })).status).toBe(403);
    expect((await env.call('analyst-a', 'POST', `/api/cases/${B}/captures/${c.other!.captureId}/tags`, { tag: 'x' })).status).toBe(404);
    expect((await env.call('analyst-a', 'POST', `/api/cases/${A}/captures/${c.other!.captureId}/tags`, { tag: 'x' })).status).toBe(404);
    expect((await env.call('analyst-a', 'POST', `${base}/tags`, { tag: 'a,b' })).status).toBe(400);
    expect((await env.call('analyst-a', 'POST', `${base}/tags`, { tag: 'x'.repeat(65) })).status).toBe(400);
    expect((await env.call('analyst-a', 'POST', `${base}/notes`, { note: '   ' })).status).toBe(400);
    expect((await env.call('analyst-a', 'POST', `${base}/notes`, { note: 'x'.repeat(4001) })).status).toBe(400);
    expect((await env.call('analyst-a', 'DELETE', `${base}/tags/never-added`)).status).toBe(200);
    const events = (await env.s.custody.readLog(A)).map((e) => e.event).filter((e) => e.subject.captureId === c.ar!.captureId && e.action.startsWith('tag-'));
    expect(events).toEqual([]);
  });
});
