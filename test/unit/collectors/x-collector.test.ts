import { describe, expect, it } from 'vitest';
import type { RecordedExchange } from '../../../collectors/browser/recorded-exchange.js';
import { originalPhotoUrl, parseXUrl, syndicationToPost, syndicationToken, tweetDetailResults, tweetToPost, xSpec, xTime, XOptions, type XTweetResult } from '../../../collectors/x.js';
import { Post } from '../../../schemas/post.js';
import { selectCollector } from '../../../collectors/registry.js';
import { exchange, recordings } from '../../support/recorded.js';

const READ_AT = '2026-01-02T03:04:05.000Z';
const ORIGIN = 'https://x.com';
const { viewOf, ctx } = recordings('x', { observedAt: READ_AT });


const tweet = (over: Partial<XTweetResult['legacy']> = {}, extra: Partial<XTweetResult> = {}): XTweetResult => ({
  __typename: 'Tweet',
  rest_id: '20',
  core: { user_results: { result: { rest_id: '7', core: { screen_name: 'layla_fa', name: 'لیلا' } } } },
  views: { count: '1500' },
  legacy: { full_text: 'سلام دنیا 🌍 #تهران https://t.co/a', created_at: 'Thu Mar 14 10:21:07 +0000 2024', lang: 'fa', entities: { hashtags: [{ text: 'تهران' }], urls: [{ url: 'https://t.co/a', expanded_url: 'https://example.org/a' }], user_mentions: [] }, reply_count: 1, retweet_count: 2, favorite_count: 3, quote_count: 0, ...over },
  ...extra,
});

describe('x URL and value parsing', () => {
  it('parses status URLs and refuses the rest', () => {
    expect(parseXUrl(new URL('https://x.com/layla_fa/status/1768000000000000001'))).toEqual({ user: 'layla_fa', id: '1768000000000000001' });
    expect(parseXUrl(new URL('https://twitter.com/a/statuses/5/photo/1'))).toEqual({ user: 'a', id: '5' });
    expect(parseXUrl(new URL('https://x.com/i/web/status/99'))).toEqual({ user: null, id: '99' });
    for (const u of ['https://x.com/layla_fa', 'https://x.com/home', 'https://x.com/layla_fa/status/abc', 'https://x.com/i/status/']) expect(parseXUrl(new URL(u))).toBeNull();
  });
  it('reads created_at in X form and ISO form; anything else keeps the raw string only', () => {
    expect(xTime('Thu Mar 14 10:21:07 +0000 2024')).toEqual({ raw: 'Thu Mar 14 10:21:07 +0000 2024', utc: '2024-03-14T10:21:07.000Z' });
    expect(xTime('Thu Mar 14 10:21:07 +0330 2024')?.utc).toBe('2024-03-14T06:51:07.000Z');
    expect(xTime('2024-03-14T12:00:00.000Z')?.utc).toBe('2024-03-14T12:00:00.000Z');
    expect(xTime('14 March 2024')).toEqual({ raw: '14 March 2024', utc: null });
    expect(xTime(undefined)).toBeNull();
  });
  it('derives the original-size photo URL and the embed token', () => {
    expect(originalPhotoUrl('https://pbs.twimg.com/media/GIxAbc.jpg')).toBe('https://pbs.twimg.com/media/GIxAbc?format=jpg&name=orig');
    expect(originalPhotoUrl('https://pbs.twimg.com/media/GIxAbc.png')).toBe('https://pbs.twimg.com/media/GIxAbc?format=png&name=orig');
    expect(syndicationToken('1768000000000000003')).toMatch(/^[0-9a-z]+$/);
    expect(syndicationToken('1768000000000000003')).not.toBe(syndicationToken('1668000000000000003'));
  });
});

describe('x tweet JSON to Post', () => {
  it('maps a GraphQL Tweet field by field (text as served, entities, counts, views)', () => {
    const p = Post.parse(tweetToPost(tweet(), READ_AT, ORIGIN));
    expect(p).toMatchObject({ id: '20', url: 'https://x.com/layla_fa/status/20', author: { id: '7', handle: 'layla_fa', displayName: 'لیلا' }, published: { utc: '2024-03-14T10:21:07.000Z' } });
    expect(p.text).toEqual({ content: 'سلام دنیا 🌍 #تهران https://t.co/a', html: null, language: 'fa', direction: 'rtl' });
    expect(p.links).toEqual(['https://example.org/a']);
    expect(p.hashtags).toEqual(['تهران']);
    expect(p.engagement?.counts).toMatchObject({ replies: { value: 1 }, reposts: { value: 2 }, likes: { value: 3 }, views: { value: 1500 } });
    expect(p.sources.text).toBe('api-json');
  });
  it('prefers the long-form note text, unwraps visibility wrappers, picks the best MP4 and orig photos', () => {
    const media = [
      { type: 'photo' as const, media_url_https: 'https://pbs.twimg.com/media/P1.jpg', original_info: { width: 4, height: 3 }, ext_alt_text: 'alt' },
      { type: 'video' as const, media_url_https: 'https://pbs.twimg.com/t.jpg', video_info: { duration_millis: 2500, variants: [{ content_type: 'application/x-mpegURL', url: 'https://v/pl.m3u8' }, { content_type: 'video/mp4', bitrate: 256000, url: 'https://v/low.mp4' }, { content_type: 'video/mp4', bitrate: 2176000, url: 'https://v/high.mp4' }] } },
    ];
    const wrapped: XTweetResult = { __typename: 'TweetWithVisibilityResults', tweet: tweet({ extended_entities: { media } }, { note_tweet: { note_tweet_results: { result: { text: 'the full long text' } } } }) };
    const p = tweetToPost(wrapped, READ_AT, ORIGIN)!;
    expect(p.text?.content).toBe('the full long text');
    expect(p.media.map((m) => [m.type, m.sourceUrl, m.durationSeconds])).toEqual([['image', 'https://pbs.twimg.com/media/P1?format=jpg&name=orig', null], ['video', 'https://v/high.mp4', 2.5]]);
    expect(p.media[0]).toMatchObject({ width: 4, height: 3, alt: 'alt' });
  });
  it('returns null for tombstones, unavailable results and results without legacy data', () => {
    expect(tweetToPost({ __typename: 'TweetTombstone', tombstone: { text: { text: 'deleted' } } }, READ_AT, ORIGIN)).toBeNull();
    expect(tweetToPost({ __typename: 'TweetUnavailable', reason: 'Protected' }, READ_AT, ORIGIN)).toBeNull();
    expect(tweetToPost({ __typename: 'Tweet', rest_id: '1' }, READ_AT, ORIGIN)).toBeNull();
  });
  it('maps the syndication JSON and refuses a tombstone', () => {
    const p = syndicationToPost({ id_str: '5', text: 'کراچی 🌧️', lang: 'ur', created_at: '2024-03-14T12:00:00.000Z', user: { id_str: '3', screen_name: 'sana_ur', name: 'Sana' }, favorite_count: 4, conversation_count: 1 }, READ_AT, ORIGIN)!;
    expect(p).toMatchObject({ id: '5', author: { handle: 'sana_ur' }, text: { direction: 'rtl', language: 'ur' }, engagement: { counts: { likes: { value: 4 }, replies: { value: 1 } } } });
    expect(syndicationToPost({ __typename: 'TweetTombstone', id_str: '5', text: '' }, READ_AT, ORIGIN)).toBeNull();
  });
  it('flattens TweetDetail entries and conversation modules in order', () => {
    const item = (id: string) => ({ item: { itemContent: { tweet_results: { result: { __typename: 'Tweet', rest_id: id } } } } });
    const body = { data: { threaded_conversation_with_injections_v2: { instructions: [{ entries: [{ content: { itemContent: { tweet_results: { result: { __typename: 'Tweet', rest_id: '1' } } } } }, { content: { items: [item('2'), item('3')] } }, { content: {} }] }] } } };
    expect(tweetDetailResults(body).map((r) => r.rest_id)).toEqual(['1', '2', '3']);
  });
});

describe('x honest states from the recording', () => {
  const o = XOptions.parse({ hosts: ['x.test'], syndication: 'https://syn.test' });
  const target = new URL('https://x.test/a/status/44');
  const gql = (status: number, headers: Array<[string, string]> = [['Content-Type', 'application/json']]) => exchange({ url: `https://x.test/i/api/graphql/q/TweetResultByRestId?variables=${encodeURIComponent(JSON.stringify({ tweetId: '44' }))}`, status, responseHeaders: headers });
  const run = async (items: Array<{ ex: RecordedExchange; body?: unknown }>) => xSpec.extract(ctx(viewOf(items, target.href)), target, o);
  const page = () => ({ ex: exchange({ url: target.href }), body: '<html></html>' });

  it.each([
    ['login-wall', { __typename: 'TweetUnavailable', reason: 'Protected' }],
    ['age-gated', { __typename: 'TweetUnavailable', reason: 'NsfwLoggedOut' }],
    ['deleted', { __typename: 'TweetTombstone', tombstone: { text: { text: 'This Post was deleted by the Post author.' } } }],
    ['unavailable', { __typename: 'TweetTombstone', tombstone: { text: { text: 'This Post is unavailable.' } } }],
    ['region-gated', { __typename: 'TweetUnavailable', reason: 'Withheld' }],
  ])('reports %s from the tweet result', async (state, result) => {
    const r = await run([page(), { ex: gql(200), body: { data: { tweetResult: { result } } } }]);
    expect(r?.visibility.state).toBe(state);
    expect(r?.post).toBeNull();
    expect(r?.visibility.signals[0]?.source).toBe('api-json');
  });
  it('an empty tweetResult is unavailable, not deleted (X does not say which)', async () => {
    const r = await run([page(), { ex: gql(200), body: { data: { tweetResult: {} } } }]);
    expect(r?.visibility.state).toBe('unavailable');
  });
  it('answers of an unknown shape are not-recognised, never unavailable: no tweetResult, a result of another type, a TweetDetail without the post', async () => {
    expect((await run([page(), { ex: gql(200), body: { data: { tweet: {} } } }]))?.visibility.state).toBe('not-recognised');
    expect((await run([page(), { ex: gql(200), body: { data: { tweetResult: { result: { __typename: 'TweetWithVisibilityResultsV2' } } } } }]))?.visibility.state).toBe('not-recognised');
    const detail = exchange({ url: `https://x.test/i/api/graphql/q/TweetDetail?variables=${encodeURIComponent(JSON.stringify({ focalTweetId: '44' }))}`, responseHeaders: [['Content-Type', 'application/json']] });
    expect((await run([page(), { ex: detail, body: { data: { threaded_conversation_with_injections_v2: { instructions: [] } } } }]))?.visibility.state).toBe('not-recognised');
    // An error X names is its word.
    const named = await run([page(), { ex: detail, body: { errors: [{ code: 144, message: 'No status found with that ID.' }], data: {} } }]);
    expect(named?.visibility).toMatchObject({ state: 'unavailable', signals: [{ detail: 'errors[0].message: No status found with that ID.' }] });
  });
  it('a 429 from GraphQL is rate-limited with the reset header', async () => {
    const r = await run([page(), { ex: gql(429, [['Content-Type', 'application/json'], ['x-rate-limit-reset', '1710422400']]), body: { errors: [{ code: 88 }] } }]);
    expect(r?.visibility).toMatchObject({ state: 'rate-limited', retryAfter: '1710422400', httpStatus: 429 });
  });
  it('a login redirect with no embed answer is a login wall; with one, the embed post is visible', async () => {
    const redirect = exchange({ url: target.href, status: 302, responseHeaders: [['Location', 'https://x.test/i/flow/login?redirect_after_login=%2Fa%2Fstatus%2F44']] });
    const login = exchange({ url: 'https://x.test/i/flow/login?redirect_after_login=%2Fa%2Fstatus%2F44' });
    const walled = await run([{ ex: redirect }, { ex: login, body: '<h1>Sign in to X</h1>' }]);
    expect(walled?.visibility.state).toBe('login-wall');
    const syn = exchange({ url: `https://syn.test/tweet-result?id=44&token=${syndicationToken('44')}&lang=en`, responseHeaders: [['Content-Type', 'application/json']] });
    const shown = await run([{ ex: redirect }, { ex: login, body: '<h1>Sign in to X</h1>' }, { ex: syn, body: { __typename: 'Tweet', id_str: '44', text: 'hello', user: { screen_name: 'a' } } }]);
    expect(shown?.visibility.state).toBe('visible');
    expect(shown?.visibility.signals.map((s) => s.source)).toEqual(['dom', 'api-json']);
    expect(shown?.post?.text?.content).toBe('hello');
  });
  it('a recorded GraphQL answer for another post is not used (not-recognised: X said nothing about this post)', async () => {
    const other = exchange({ url: `https://x.test/i/api/graphql/q/TweetResultByRestId?variables=${encodeURIComponent(JSON.stringify({ tweetId: '45' }))}` });
    const r = await run([page(), { ex: other, body: { data: { tweetResult: { result: tweet() } } } }]);
    expect(r?.visibility.state).toBe('not-recognised');
    expect(r?.post).toBeNull();
  });
});

describe('x in the registry', () => {
  it('is chosen for post URLs on the real hosts; other pages of the platform fall through to generic', () => {
    expect(selectCollector(new URL('https://x.com/layla_fa/status/1768000000000000001')).id).toBe('x');
    expect(selectCollector(new URL('https://twitter.com/a/status/5')).id).toBe('x');
    expect(selectCollector(new URL('https://x.com/layla_fa')).id).toBe('generic');
  });
});
