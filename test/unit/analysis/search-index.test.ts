import { describe, expect, it } from 'vitest';
import { foldForSearch } from '../../../lib/text-fold.js';
import { matchKey } from '../../../analysis/text-key.js';
import { captureDocuments, checkQuery, MAX_QUERY_CHARS, SearchIndex } from '../../../analysis/search-index.js';
import type { CustodyEvent } from '../../../schemas/custody.js';
import type { PostDocument } from '../../../schemas/post.js';
import { syntheticPost } from '../../support/synthetic-posts.js';

const CASE = 'C-SEARCH-1';
const OTHER = 'C-SEARCH-2';
const ids = { ar: '01900000-0000-7000-8000-000000000001', fa: '01900000-0000-7000-8000-000000000002', web: '01900000-0000-7000-8000-000000000003', other: '01900000-0000-7000-8000-000000000004', ur: '01900000-0000-7000-8000-000000000005' };

function postDocument(platform: string, text: string, extra: Partial<Parameters<typeof syntheticPost>[1]> = {}): PostDocument {
  return {
    schemaVersion: 'exhibit.post/1', platform, collector: { id: platform, version: '1' }, requestedUrl: `https://${platform}.example/x`, pageUrl: `https://${platform}.example/x`,
    observedAt: '2026-05-01T10:00:00Z', visibility: { state: 'visible', reason: null, signals: [], httpStatus: 200, retryAfter: null },
    post: syntheticPost(platform, { id: `${platform}-1`, author: { id: '1', handle: 'sahel_news', displayName: 'أخبار الساحل' }, text, ...extra }),
    replies: [], quoted: null, profile: null, proof: null, collectorRequests: [], readFrom: [], review: [],
  };
}

function facts(caseId: string, captureId: string, post: PostDocument | null, title: string | null = null) {
  return { caseId, captureId, capturedAt: '2026-05-01T10:00:00Z', collectorId: post?.platform ?? 'web', requestUrl: `https://site.example/${captureId}`, finalUrl: null, canonicalUrl: null, title, post };
}

async function fixtureIndex(): Promise<SearchIndex> {
  const idx = await SearchIndex.open(null, 'memory');
  // As the platform served it: full harakat, hamza on the alef, teh marbuta, tatweel.
  idx.addCapture(captureDocuments(facts(CASE, ids.ar, postDocument('telegram', 'أُعْلِنَتْ حَالَةُ الطَّوَارِئِ فِي الْمَدِينَةِ الكـــبيرة', { hashtags: ['سوريا'], mentions: [{ handle: 'layla@social.example' }], links: ['https://news.example/story/42'] }))));
  // Persian: Farsi yeh and keheh, a ZWNJ inside the word.
  idx.addCapture(captureDocuments(facts(CASE, ids.fa, postDocument('x', 'کتاب‌های ایرانی در نمایشگاه'))));
  // Urdu: heh goal, yeh barree, Urdu digits.
  idx.addCapture(captureDocuments(facts(CASE, ids.ur, postDocument('x', 'پاکستان میں ۲۰۲۶ کے انتخابات ہوئے'))));
  idx.addCapture(captureDocuments(facts(CASE, ids.web, null, 'Fixture Social — Café report')));
  idx.addCapture(captureDocuments(facts(OTHER, ids.other, postDocument('telegram', 'حالة الطوارئ في مدينة أخرى'))));
  return idx;
}

const found = (idx: SearchIndex, q: string, caseIds = [CASE]) => idx.search(q, { caseIds }).hits.map((h) => h.captureId);

describe('search folding (exhibit.search-fold/1)', () => {
  it('folds diacritics, tatweel, alef and hamza forms, yeh and heh variants, digits and Latin accents', () => {
    expect(foldForSearch('أُعْلِنَتْ')).toBe(foldForSearch('اعلنت'));
    expect(foldForSearch('الكـــبيرة')).toBe('الكبيره');
    for (const alef of ['أحمد', 'إحمد', 'آحمد', 'ٱحمد']) expect(foldForSearch(alef)).toBe('احمد');
    expect(foldForSearch('مستشفى')).toBe(foldForSearch('مستشفي'));
    expect(foldForSearch('ایران')).toBe(foldForSearch('ايران'));
    expect(foldForSearch('کتاب')).toBe(foldForSearch('كتاب'));
    expect(foldForSearch('مسؤول')).toBe(foldForSearch('مسوول'));
    expect(foldForSearch('ہوئے')).toBe(foldForSearch('هوئي'));
    expect(foldForSearch('۲۰۲۶ ٢٠٢٦')).toBe('2026 2026');
    expect(foldForSearch('Café ÉTÉ')).toBe('cafe ete');
    expect(foldForSearch('ﻻ')).toBe('لا'); // NFKC: presentation-form ligature
    expect(foldForSearch('می\u200cخواهم')).toBe(foldForSearch('میخواهم'));
  });

  it('keeps letters of other scripts that are not variants (Devanagari vowel signs are not accents)', () => {
    expect(foldForSearch('किताब')).not.toBe(foldForSearch('कताब'));
    expect(foldForSearch('گ')).toBe('گ');
  });

  it('leaves the case-graph match key as it was (its rules are recorded in exports)', () => {
    expect(matchKey('#مسؤول')).toBe('مسؤول');
    expect(matchKey('@Sahel_News')).toBe('sahel_news');
  });
});

describe('search index (MiniSearch)', () => {
  it('finds the Arabic post typed without diacritics, with plain alef, ha for ta marbuta, and as a prefix', async () => {
    const idx = await fixtureIndex();
    expect(found(idx, 'اعلنت حالة الطوارئ')).toEqual([ids.ar]);
    expect(found(idx, 'حاله')).toEqual([ids.ar]);
    expect(found(idx, 'الكبيرة')).toEqual([ids.ar]);
    expect(found(idx, 'المدي')).toEqual([ids.ar]); // the last word may be the start of a word
    expect(found(idx, 'المدي حالة')).toEqual([]); // but not an earlier one
  });

  it('matches a word with or without the Arabic article and its proclitics, stripping it once only', async () => {
    const idx = await fixtureIndex();
    idx.addCapture(captureDocuments(facts(CASE, '01900000-0000-7000-8000-000000000006', postDocument('telegram', 'وقّع الالتزام'))));
    expect(found(idx, 'مدينة')).toEqual([ids.ar]);
    expect(found(idx, 'والمدينة')).toEqual([ids.ar]);
    expect(found(idx, 'بالمدينة الطوارئ')).toEqual([ids.ar]);
    expect(found(idx, 'الالتزام')).toEqual(['01900000-0000-7000-8000-000000000006']);
    expect(found(idx, 'التزام')).toEqual(['01900000-0000-7000-8000-000000000006']);
    expect(found(idx, 'تزام')).toEqual([]);
  });

  it('finds by author name and handle, hashtag, mention and link; Persian with Arabic yeh and kaf; Urdu with Arabic letters and digits', async () => {
    const idx = await fixtureIndex();
    expect(new Set(found(idx, 'sahel_news'))).toEqual(new Set([ids.ar, ids.fa, ids.ur]));
    expect(new Set(found(idx, 'اخبار الساحل'))).toEqual(new Set([ids.ar, ids.fa, ids.ur]));
    expect(found(idx, '#سوريا')).toEqual([ids.ar]);
    expect(found(idx, '@layla')).toEqual([ids.ar]);
    expect(found(idx, 'news.example/story/42')).toEqual([ids.ar]);
    expect(found(idx, 'كتابهاي ايراني')).toEqual([ids.fa]);
    expect(found(idx, 'ایرانی')).toEqual([ids.fa]);
    expect(found(idx, 'هوئي 2026')).toEqual([ids.ur]);
    expect(found(idx, 'cafe report')).toEqual([ids.web]);
  });

  it('hits carry the recorded text unchanged, its direction, and the fields matched', async () => {
    const idx = await fixtureIndex();
    const [hit] = idx.search('الطوارئ', { caseIds: [CASE] }).hits;
    expect(hit!.excerpt).toBe('أُعْلِنَتْ حَالَةُ الطَّوَارِئِ فِي الْمَدِينَةِ الكـــبيرة');
    expect(hit!.author).toEqual({ displayName: 'أخبار الساحل', handle: 'sahel_news' });
    expect(hit!.matchedIn).toEqual(['text']);
  });

  it('returns nothing from cases the reader may not read', async () => {
    const idx = await fixtureIndex();
    expect(found(idx, 'الطوارئ')).toEqual([ids.ar]);
    expect(found(idx, 'الطوارئ', [CASE, OTHER]).sort()).toEqual([ids.ar, ids.other].sort());
    expect(found(idx, 'مدينة اخرى', [CASE])).toEqual([]);
    expect(found(idx, 'الطوارئ', [])).toEqual([]);
  });

  it('indexes tags and notes from annotation events; a removed tag no longer matches or filters', async () => {
    const idx = await fixtureIndex();
    let seq = 0;
    const ev = (action: CustodyEvent['action'], captureId: string, details: Record<string, unknown>): CustodyEvent => ({
      schemaVersion: 'exhibit.custody-event/1', caseId: CASE, seq: ++seq, eventId: `01900000-0000-7000-9000-00000000000${seq}`, time: '2026-05-02T10:00:00Z',
      actor: { type: 'user', id: 'analyst.one', role: 'analyst' }, action, subject: { captureId }, details, prevHash: `sha256:${'0'.repeat(64)}`, hash: `sha256:${'1'.repeat(64)}`,
    });
    idx.annotate(CASE, [ev('tag-added', ids.fa, { tag: 'Priority', via: 'api' }), ev('note-added', ids.web, { note: 'Compare with the إعلان of May', via: 'cli' })]);
    expect(found(idx, 'priority')).toEqual([ids.fa]);
    expect(found(idx, 'اعلان')).toEqual([ids.web]);
    expect(idx.search('ایرانی', { caseIds: [CASE], tag: 'PRIORITY' }).hits.map((h) => h.captureId)).toEqual([ids.fa]);
    expect(idx.search('sahel_news', { caseIds: [CASE], tag: 'priority' }).hits.map((h) => h.captureId)).toEqual([ids.fa]);
    idx.annotate(CASE, [ev('tag-removed', ids.fa, { tag: 'priority', via: 'api' })]);
    expect(found(idx, 'priority')).toEqual([]);
    expect(idx.search('sahel_news', { caseIds: [CASE], tag: 'priority' }).hits).toEqual([]);
  });

  it('refuses a query that is too long, has too many words, or has no words', () => {
    expect(() => checkQuery('ا'.repeat(MAX_QUERY_CHARS + 1))).toThrow(/at most 200/);
    expect(() => checkQuery(Array.from({ length: 17 }, (_, i) => `w${i}`).join(' '))).toThrow(/at most 16/);
    expect(() => checkQuery(' ،؟ !! ')).toThrow(/no words/);
    expect(() => checkQuery('\u064B\u0640')).toThrow(/no words/); // only harakat and tatweel
    expect(checkQuery('  أَحْمَد  ')).toEqual(['احمد']);
  });
});
