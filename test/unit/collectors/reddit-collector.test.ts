import { describe, expect, it } from 'vitest';
import type { RecordedExchange } from '../../../collectors/browser/recorded-exchange.js';
import { flattenComments, parseRedditUrl, readShredditPost, redditJsonUrl, redditMedia, redditPostToPost, redditSpec, redditTime, RedditOptions, type RedditListing, type RedditPostData } from '../../../collectors/reddit.js';
import { Post } from '../../../schemas/post.js';
import { selectCollector } from '../../../collectors/registry.js';
import { exchange, recordings } from '../../support/recorded.js';

const READ_AT = '2026-01-02T03:04:05.000Z';
const ORIGIN = 'https://www.reddit.com';
const { viewOf, ctx } = recordings('reddit', { observedAt: READ_AT });


const post = (over: Partial<RedditPostData> = {}): RedditPostData => ({
  id: 'abc12', name: 't3_abc12', title: 'صف نان 🍞', selftext: 'متن #تهران', selftext_html: '<div class="md"><p>متن #تهران <a href="https://example.org/x">x</a> <a href="/u/omar_r">u/omar_r</a> <a href="/r/iran">r/iran</a></p></div>',
  author: 'layla', author_fullname: 't2_1', subreddit: 'iran', permalink: '/r/iran/comments/abc12/slug/', created_utc: 1710411667, score: 10, num_comments: 2, is_self: true, ...over,
});

describe('reddit URLs and values', () => {
  it('parses post URLs and refuses the rest', () => {
    expect(parseRedditUrl(new URL('https://www.reddit.com/r/iran_news/comments/1bf0a1x/bread_queue/'))).toEqual({ sub: 'iran_news', id: '1bf0a1x', slug: 'bread_queue' });
    expect(parseRedditUrl(new URL('https://old.reddit.com/comments/1bf0a1x'))).toEqual({ sub: null, id: '1bf0a1x', slug: null });
    for (const u of ['https://www.reddit.com/r/iran_news/', 'https://www.reddit.com/user/layla/', 'https://www.reddit.com/r/x/comments/', 'https://www.reddit.com/r/iran/comments/abc/slug/def/']) expect(parseRedditUrl(new URL(u))).toBeNull();
  });
  it('builds the .json listing URL of a post page', () => {
    expect(redditJsonUrl(new URL('https://www.reddit.com/r/a/comments/b1/slug/?utm=1#c'))).toBe('https://www.reddit.com/r/a/comments/b1/slug.json?raw_json=1');
    expect(redditJsonUrl(new URL('https://www.reddit.com/r/a/comments/b1'))).toBe('https://www.reddit.com/r/a/comments/b1.json?raw_json=1');
  });
  it('reads created_utc as served and its UTC time', () => {
    expect(redditTime(1710411667)).toEqual({ raw: '1710411667', utc: '2024-03-14T10:21:07.000Z' });
    expect(redditTime(1710411667.5)?.utc).toBe('2024-03-14T10:21:07.500Z');
    expect(redditTime(undefined)).toBeNull();
  });
});

describe('reddit JSON to Post', () => {
  it('joins title and body, keeps the rendered HTML, finds links, u/ mentions and hashtags', () => {
    const p = Post.parse(redditPostToPost(post(), READ_AT, ORIGIN));
    expect(p.text).toMatchObject({ content: 'صف نان 🍞\n\nمتن #تهران', direction: 'rtl', language: null });
    expect(p.text?.html).toContain('<div class="md">');
    expect(p.links).toEqual(['https://example.org/x']);
    expect(p.mentions).toEqual([{ handle: 'omar_r', id: null, url: 'https://www.reddit.com/user/omar_r/' }]);
    expect(p.hashtags).toEqual(['تهران']);
    expect(p).toMatchObject({ id: 'abc12', uri: 't3_abc12', url: 'https://www.reddit.com/r/iran/comments/abc12/slug/', author: { id: 't2_1', handle: 'layla' } });
  });
  it('a [deleted] author is no author; a link post names its target', () => {
    const p = redditPostToPost(post({ author: '[deleted]', is_self: false, url: 'https://news.example/story', selftext: '', selftext_html: null }), READ_AT, ORIGIN);
    expect(p.author).toEqual({ id: null, handle: null, displayName: null, profileUrl: null });
    expect(p.links).toEqual(['https://news.example/story']);
    expect(p.text?.content).toBe('صف نان 🍞');
  });
  it('orders gallery media by gallery_data, at source size, unescaping &amp;, flagging invalid items', () => {
    const m = redditMedia(post({
      is_gallery: true,
      gallery_data: { items: [{ media_id: 'b' }, { media_id: 'a', caption: 'cap' }, { media_id: 'gone' }] },
      media_metadata: { a: { status: 'valid', e: 'Image', s: { u: 'https://preview.redd.it/a.jpg?width=10&amp;s=1', x: 10, y: 20 } }, b: { status: 'valid', e: 'AnimatedImage', s: { mp4: 'https://preview.redd.it/b.gif?format=mp4&amp;s=2', x: 5, y: 5 } }, gone: { status: 'failed' } },
    }));
    expect(m.map((x) => [x.type, x.sourceUrl])).toEqual([['gif', 'https://preview.redd.it/b.gif?format=mp4&s=2'], ['image', 'https://preview.redd.it/a.jpg?width=10&s=1'], ['image', null]]);
    expect(m[1]).toMatchObject({ width: 10, height: 20, alt: 'cap' });
    expect(m[2]!.flags[0]!.code).toBe('media-not-served');
  });
  it('takes the reddit_video HLS playlist (the stream the player loads)', () => {
    const m = redditMedia(post({ secure_media: { reddit_video: { hls_url: 'https://v.redd.it/x/HLSPlaylist.m3u8?a=1&amp;v=1', fallback_url: 'https://v.redd.it/x/DASH_360.mp4', duration: 3, width: 320, height: 180 } } }));
    expect(m).toMatchObject([{ type: 'video', sourceUrl: 'https://v.redd.it/x/HLSPlaylist.m3u8?a=1&v=1', durationSeconds: 3, width: 320 }]);
  });
  it('flattens the comment tree depth first and skips more stubs', () => {
    const c = (id: string, parent: string, replies: RedditListing | '' = '') => ({ kind: 't1', data: { id, body: id, parent_id: parent, replies } as Record<string, unknown> });
    const listing: RedditListing = { kind: 'Listing', data: { children: [c('c1', 't3_p', { kind: 'Listing', data: { children: [c('c2', 't1_c1')] } }), { kind: 'more', data: { count: 5 } }, c('c3', 't3_p')] } };
    const r = flattenComments(listing, READ_AT, ORIGIN);
    expect(r.map((x) => [x.id, x.replyTo?.id])).toEqual([['c1', 'p'], ['c2', 'c1'], ['c3', 'p']]);
  });
  it('falls back to the server-rendered <shreddit-post> (dom)', () => {
    const html = '<shreddit-post id="t3_abc12" post-title="عنوان" author="layla" created-timestamp="2024-03-14T10:21:07.000Z" score="7" comment-count="2" permalink="/r/iran/comments/abc12/s/"><div slot="text-body"><p>بدنه</p></div></shreddit-post>';
    const p = readShredditPost(html, READ_AT, ORIGIN)!;
    expect(p).toMatchObject({ id: 'abc12', author: { handle: 'layla' }, published: { utc: '2024-03-14T10:21:07.000Z' }, text: { content: 'عنوان\n\nبدنه' }, engagement: { counts: { score: { value: 7 }, comments: { value: 2 } } } });
    expect(p.sources.text).toBe('dom');
    expect(readShredditPost('<html></html>', READ_AT, ORIGIN)).toBeNull();
  });
});

describe('reddit honest states from the recording', () => {
  const o = RedditOptions.parse({ hosts: ['rd.test'] });
  const target = new URL('https://rd.test/r/iran/comments/abc12/slug/');
  const json = 'https://rd.test/r/iran/comments/abc12/slug.json?raw_json=1';
  const run = async (items: Array<{ ex: RecordedExchange; body?: unknown }>) => redditSpec.extract(ctx(viewOf(items, target.href)), target, o);
  const listing = (d: RedditPostData) => [{ kind: 'Listing', data: { children: [{ kind: 't3', data: d }] } }, { kind: 'Listing', data: { children: [] } }];

  it('a visible post from the .json listing', async () => {
    const r = await run([{ ex: exchange({ url: target.href }), body: '<html></html>' }, { ex: exchange({ url: json }), body: listing(post()) }]);
    expect(r?.visibility.state).toBe('visible');
    expect(r?.post?.id).toBe('abc12');
  });
  it.each([
    ['removed by moderators', { selftext: '[removed]', removed_by_category: 'moderator' }],
    ['deleted by its author', { selftext: '[deleted]', author: '[deleted]', removed_by_category: 'deleted' }],
  ])('%s is deleted, and the remnants are kept', async (_name, over) => {
    const r = await run([{ ex: exchange({ url: target.href }), body: '<html></html>' }, { ex: exchange({ url: json }), body: listing(post(over)) }]);
    expect(r?.visibility.state).toBe('deleted');
    expect(r?.post?.text?.content).toContain('صف نان');
  });
  it('a redirect to the over18 interstitial is age-gated', async () => {
    const r = await run([{ ex: exchange({ url: target.href, status: 302, responseHeaders: [['Location', 'https://rd.test/over18?dest=x']] }) }, { ex: exchange({ url: 'https://rd.test/over18?dest=x' }), body: '<h1>You must be 18+</h1>' }]);
    expect(r?.visibility.state).toBe('age-gated');
  });
  it('403 with reason private is a login wall; a bare 403 stays unavailable', async () => {
    const page = exchange({ url: target.href, status: 403 });
    const priv = await run([{ ex: page, body: '<h1>private</h1>' }, { ex: exchange({ url: json, status: 403 }), body: { reason: 'private', message: 'Forbidden', error: 403 } }]);
    expect(priv?.visibility.state).toBe('login-wall');
    expect(priv?.visibility.signals.map((s) => s.detail)).toContain('reason: private');
    const bare = await run([{ ex: exchange({ url: target.href, status: 403 }), body: '<h1>blocked</h1>' }]);
    expect(bare?.visibility.state).toBe('unavailable');
  });
  it('429 is rate-limited with the reset header', async () => {
    const r = await run([{ ex: exchange({ url: target.href, status: 429, responseHeaders: [['x-ratelimit-reset', '412']] }), body: 'whoa' }]);
    expect(r?.visibility).toMatchObject({ state: 'rate-limited', retryAfter: '412' });
  });
  it('a listing for another post is not used (not-recognised: Reddit did not say the post is gone)', async () => {
    const r = await run([{ ex: exchange({ url: target.href }), body: '<html></html>' }, { ex: exchange({ url: json }), body: listing(post({ id: 'zzz99' })) }]);
    expect(r?.visibility.state).toBe('not-recognised');
    expect(r?.post).toBeNull();
  });
});

describe('reddit in the registry', () => {
  it('is chosen for post URLs on the real hosts; other pages of the platform fall through to generic', () => {
    expect(selectCollector(new URL('https://www.reddit.com/r/iran_news/comments/1bf0a1x/bread_queue/')).id).toBe('reddit');
    expect(selectCollector(new URL('https://old.reddit.com/r/ab/comments/b1c')).id).toBe('reddit');
    expect(selectCollector(new URL('https://www.reddit.com/r/iran_news/')).id).toBe('generic');
  });
});
