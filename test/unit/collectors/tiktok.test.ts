import { describe, expect, it } from 'vitest';
import type { RecordedExchange } from '../../../collectors/browser/recorded-exchange.js';
import { itemToPost, parseTikTokUrl, tiktokSpec, TikTokOptions, unixPublished, videoDetailOf, type TikTokItem } from '../../../collectors/tiktok.js';
import { Post } from '../../../schemas/post.js';
import { exchange, recordings } from '../../support/recorded.js';

const READ_AT = '2026-01-02T03:04:05.000Z';
const ORIGIN = 'https://www.tiktok.com';
const PAGE = `${ORIGIN}/@noor.gaza/video/7346001122334455667`;
const { viewOf, ctx } = recordings('tiktok', { observedAt: READ_AT, pageUrl: PAGE });
const options = TikTokOptions.parse({});

const pageHtml = (detail: unknown): string => `<!DOCTYPE html><html><body><script id="__UNIVERSAL_DATA_FOR_REHYDRATION__" type="application/json">${JSON.stringify({ __DEFAULT_SCOPE__: { 'webapp.video-detail': detail } })}</script></body></html>`;

const item: TikTokItem = {
  id: '7346001122334455667',
  desc: 'طوابير الخبز 🍞 #غزة @omar.reports',
  createTime: '1710411667',
  textLanguage: 'ar',
  author: { id: '69', uniqueId: 'noor.gaza', nickname: 'نور' },
  video: { playAddr: '//v16.example/video/tos/a.mp4?qs=0', width: 180, height: 320, duration: 3 },
  stats: { diggCount: 15234, shareCount: 873, commentCount: 3, playCount: 240512 },
  textExtra: [{ hashtagName: 'غزة', type: 1 }, { userUniqueId: 'omar.reports', userId: '70', type: 0 }],
};

describe('tiktok URL and value parsing', () => {
  it('parses video and photo post URLs and refuses the rest', () => {
    expect(parseTikTokUrl(new URL(PAGE))).toEqual({ user: 'noor.gaza', id: '7346001122334455667' });
    expect(parseTikTokUrl(new URL(`${ORIGIN}/@a_b.c/photo/7346001122334455667/`))).toEqual({ user: 'a_b.c', id: '7346001122334455667' });
    for (const u of [`${ORIGIN}/@noor.gaza`, `${ORIGIN}/@noor.gaza/video/`, `${ORIGIN}/@noor.gaza/video/abc`, `${ORIGIN}/video/7346001122334455667`, `${ORIGIN}/tag/x`]) expect(parseTikTokUrl(new URL(u))).toBeNull();
  });
  it('matches only the configured hosts', () => {
    expect(tiktokSpec.matches(new URL(PAGE), options)).toBe(true);
    expect(tiktokSpec.matches(new URL('https://evil.example/@noor.gaza/video/7346001122334455667'), options)).toBe(false);
    expect(tiktokSpec.matches(new URL('http://127.0.0.1:9/@a/video/123456'), TikTokOptions.parse({ hosts: ['127.0.0.1:9'] }))).toBe(true);
  });
  it('reads Unix seconds as stated, and nothing it cannot read', () => {
    expect(unixPublished('1710411667')).toEqual({ raw: '1710411667', utc: '2024-03-14T10:21:07.000Z' });
    expect(unixPublished(1710411667)).toEqual({ raw: '1710411667', utc: '2024-03-14T10:21:07.000Z' });
    expect(unixPublished('yesterday')).toEqual({ raw: 'yesterday', utc: null });
    expect(unixPublished('')).toBeNull();
    expect(unixPublished(undefined)).toBeNull();
  });
  it('finds the video-detail scope, and says when there is none or it is broken', () => {
    expect(videoDetailOf(pageHtml({ statusCode: 0, itemInfo: { itemStruct: item } })).detail?.itemInfo?.itemStruct?.id).toBe(item.id);
    expect(videoDetailOf('<html><body>nothing</body></html>')).toEqual({ found: false, detail: null });
    expect(videoDetailOf('<script id="__UNIVERSAL_DATA_FOR_REHYDRATION__" type="application/json">{not json</script>')).toEqual({ found: true, detail: null });
    expect(videoDetailOf('<script id="__UNIVERSAL_DATA_FOR_REHYDRATION__" type="application/json">{"__DEFAULT_SCOPE__":{"webapp.user-detail":{}}}</script>')).toEqual({ found: true, detail: null });
  });
});

describe('tiktok itemStruct', () => {
  it('reads every field from the embedded JSON, with its source', () => {
    const p = Post.parse(itemToPost(item, READ_AT, ORIGIN));
    expect(p).toMatchObject({
      id: item.id,
      url: `${ORIGIN}/@noor.gaza/video/${item.id}`,
      author: { id: '69', handle: 'noor.gaza', displayName: 'نور', profileUrl: `${ORIGIN}/@noor.gaza` },
      published: { raw: '1710411667', utc: '2024-03-14T10:21:07.000Z' },
      text: { content: item.desc, language: 'ar', direction: 'rtl' },
      hashtags: ['غزة'],
      mentions: [{ handle: 'omar.reports', id: '70', url: `${ORIGIN}/@omar.reports` }],
      media: [{ type: 'video', width: 180, height: 320, durationSeconds: 3 }],
    });
    expect(p.engagement?.counts).toEqual({ views: { display: '240512', value: 240512 }, likes: { display: '15234', value: 15234 }, replies: { display: '3', value: 3 }, shares: { display: '873', value: 873 } });
    expect(new Set(Object.values(p.sources))).toEqual(new Set(['embedded-json']));
  });
  it('leaves out what was not served (no video, no stats, unknown language)', () => {
    const p = itemToPost({ id: '1', desc: 'hi', textLanguage: 'un', video: { playAddr: '' } }, READ_AT, ORIGIN);
    expect(p.media).toEqual([]);
    expect(p.engagement).toBeNull();
    expect(p.author).toBeNull();
    expect(p.url).toBeNull();
    expect(p.text?.language).toBeNull();
    expect(p.sources.media).toBeUndefined();
    expect(p.sources.engagement).toBeUndefined();
  });
});

describe('tiktok extract and honest states', () => {
  const main = (over: Partial<RecordedExchange> = {}): RecordedExchange => exchange({ url: PAGE, ...over });
  const run = (items: Array<{ ex: RecordedExchange; body?: string | object }>) => tiktokSpec.extract(ctx(viewOf(items)), new URL(PAGE), options);

  it('reads the post, resolves its video URL against the page, and the recorded comments', async () => {
    const comments = exchange({ url: `${ORIGIN}/api/comment/list/?aid=1988&aweme_id=${item.id}&count=20&cursor=0`, responseHeaders: [['Content-Type', 'application/json']] });
    const r = await run([
      { ex: main(), body: pageHtml({ statusCode: 0, statusMsg: '', itemInfo: { itemStruct: structuredClone(item) } }) },
      { ex: comments, body: { status_code: 0, comments: [{ cid: '9', text: 'خدا حافظ 🤲', create_time: 1710412000, aweme_id: item.id, reply_id: '0', digg_count: 4, user: { uid: '5', unique_id: 'sara', nickname: 'Sara' } }, { cid: 'bad' }] } },
    ]);
    expect(r?.visibility.state).toBe('visible');
    expect(r?.post?.media[0]?.sourceUrl).toBe('https://v16.example/video/tos/a.mp4?qs=0');
    expect(r?.replies).toHaveLength(1);
    expect(r?.replies?.[0]).toMatchObject({ id: '9', author: { handle: 'sara' }, replyTo: { id: item.id }, text: { direction: 'rtl' }, engagement: { counts: { likes: { value: 4 } } } });
  });
  it('ignores a comment list for another video or with an error status', async () => {
    const other = exchange({ url: `${ORIGIN}/api/comment/list/?aweme_id=1&count=20`, responseHeaders: [['Content-Type', 'application/json']] });
    const failed = exchange({ url: `${ORIGIN}/api/comment/list/?aweme_id=${item.id}`, responseHeaders: [['Content-Type', 'application/json']] });
    const r1 = await run([{ ex: main(), body: pageHtml({ statusCode: 0, itemInfo: { itemStruct: structuredClone(item) } }) }, { ex: other, body: { status_code: 0, comments: [{ cid: '1', text: 'x', create_time: 1, aweme_id: '1' }] } }]);
    expect(r1?.replies).toEqual([]);
    const r2 = await run([{ ex: main(), body: pageHtml({ statusCode: 0, itemInfo: { itemStruct: structuredClone(item) } }) }, { ex: failed, body: { status_code: 8, comments: [{ cid: '1', text: 'x', create_time: 1, aweme_id: item.id }] } }]);
    expect(r2?.replies).toEqual([]);
  });
  it('says deleted only when TikTok says so, private and other statuses are unavailable', async () => {
    const deleted = await run([{ ex: main(), body: pageHtml({ statusCode: 10204, statusMsg: 'status_deleted', itemInfo: {} }) }]);
    expect(deleted?.visibility).toMatchObject({ state: 'deleted', httpStatus: 200 });
    expect(deleted?.visibility.signals[0]?.detail).toContain('statusMsg: status_deleted');
    expect(deleted?.post).toBeNull();
    const priv = await run([{ ex: main(), body: pageHtml({ statusCode: 10216, statusMsg: '', itemInfo: {} }) }]);
    expect(priv?.visibility.state).toBe('unavailable');
    expect(priv?.visibility.reason).toMatch(/private/);
    const other = await run([{ ex: main(), body: pageHtml({ statusCode: 10204, itemInfo: {} }) }]);
    expect(other?.visibility.state).toBe('unavailable');
    // statusCode 0 but no item is not a post either.
    // statusCode 0 is "ok": an empty itemInfo is an unknown shape, not a refusal.
    expect((await run([{ ex: main(), body: pageHtml({ statusCode: 0, itemInfo: {} }) }]))?.visibility.state).toBe('not-recognised');
  });
  it('reports content-classified videos as age-gated, keeping what the page served', async () => {
    const r = await run([{ ex: main(), body: pageHtml({ statusCode: 0, itemInfo: { itemStruct: { ...structuredClone(item), isContentClassified: true, video: { playAddr: '' } } } }) }]);
    expect(r?.visibility.state).toBe('age-gated');
    expect(r?.visibility.signals[0]?.detail).toBe('itemStruct.isContentClassified: true');
    expect(r?.post?.media).toEqual([]);
  });
  it('reports pages without state, HTTP errors and rate limits honestly', async () => {
    expect((await run([{ ex: main(), body: '<html>verify you are human</html>' }]))?.visibility.state).toBe('not-recognised');
    expect((await run([{ ex: main({ status: 404, statusText: 'Not Found' }), body: 'x' }]))?.visibility.state).toBe('unavailable');
    const limited = await run([{ ex: main({ status: 429, statusText: 'Too Many Requests', responseHeaders: [['Retry-After', '60']] }), body: '' }]);
    expect(limited?.visibility).toMatchObject({ state: 'rate-limited', retryAfter: '60' });
    expect(await run([])).toBeNull();
  });
});
