import { describe, expect, it } from 'vitest';
import type { RecordedExchange } from '../../../collectors/browser/recorded-exchange.js';
import { embeddedJson, observePlayability, parseYouTubeUrl, playerResponseToPost, youtubeMedia, youtubeSpec, YouTubeOptions, type PlayerResponse } from '../../../collectors/youtube.js';
import { Post } from '../../../schemas/post.js';
import { selectCollector } from '../../../collectors/registry.js';
import { exchange, recordings } from '../../support/recorded.js';

const READ_AT = '2026-01-02T03:04:05.000Z';
const ORIGIN = 'https://www.youtube.com';
const { viewOf, ctx } = recordings('yt', { observedAt: READ_AT });

const pr = (over: Partial<PlayerResponse> = {}): PlayerResponse => ({
  playabilityStatus: { status: 'OK' },
  videoDetails: { videoId: 'Qm3sh0rtFa1', title: 'باران 🌧️', shortDescription: 'متن #کراچی https://example.org/a', lengthSeconds: '3', channelId: 'UC1', author: 'Layla', viewCount: '42' },
  microformat: { playerMicroformatRenderer: { publishDate: '2024-03-14T03:21:07-07:00', ownerProfileUrl: 'http://www.youtube.com/@layla_fa' } },
  streamingData: { hlsManifestUrl: 'https://manifest.googlevideo.com/api/manifest/hls_variant/x/index.m3u8' },
  ...over,
});

describe('youtube URLs and embedded JSON', () => {
  it('parses watch, Shorts and live URLs only', () => {
    expect(parseYouTubeUrl(new URL('https://www.youtube.com/watch?v=Ar4bicWatch&t=3'))).toEqual({ id: 'Ar4bicWatch', kind: 'watch' });
    expect(parseYouTubeUrl(new URL('https://www.youtube.com/shorts/Qm3sh0rtFa1'))).toEqual({ id: 'Qm3sh0rtFa1', kind: 'shorts' });
    expect(parseYouTubeUrl(new URL('https://www.youtube.com/live/Qm3sh0rtFa1'))).toEqual({ id: 'Qm3sh0rtFa1', kind: 'live' });
    for (const u of ['https://www.youtube.com/watch?v=short', 'https://www.youtube.com/@layla_fa', 'https://www.youtube.com/channel/UC1', 'https://www.youtube.com/shorts/']) expect(parseYouTubeUrl(new URL(u))).toBeNull();
  });
  it('cuts the assigned object at its balanced brace, strings with braces and escapes included', () => {
    const html = '<script>var ytInitialPlayerResponse = {"a":"} { \\" }","b":{"c":[1,{"d":2}]}};var meta = 1;</script><script>window["ytInitialData"] = {"x":1};</script>';
    expect(embeddedJson(html, 'ytInitialPlayerResponse')).toEqual({ a: '} { " }', b: { c: [1, { d: 2 }] } });
    expect(embeddedJson(html, 'ytInitialData')).toEqual({ x: 1 });
    expect(embeddedJson(html, 'ytMissing')).toBeNull();
    expect(embeddedJson('<script>var ytInitialPlayerResponse = {"a": ', 'ytInitialPlayerResponse')).toBeNull();
  });
});

describe('youtube player response to Post', () => {
  it('maps videoDetails and microformat (title + description, handle, publish time, views)', () => {
    const p = Post.parse(playerResponseToPost(pr(), READ_AT, ORIGIN, 'shorts'));
    expect(p).toMatchObject({ id: 'Qm3sh0rtFa1', url: 'https://www.youtube.com/shorts/Qm3sh0rtFa1', author: { id: 'UC1', handle: 'layla_fa', displayName: 'Layla', profileUrl: 'http://www.youtube.com/@layla_fa' }, published: { raw: '2024-03-14T03:21:07-07:00', utc: '2024-03-14T10:21:07.000Z' } });
    expect(p.text).toEqual({ content: 'باران 🌧️\n\nمتن #کراچی https://example.org/a', html: null, language: null, direction: 'rtl' });
    expect(p.hashtags).toEqual(['کراچی']);
    expect(p.links).toEqual(['https://example.org/a']);
    expect(p.engagement?.counts.views?.value).toBe(42);
    expect(p.sources.media).toBe('embedded-json');
  });
  it('a date-only publishDate keeps the raw string without guessing a zone', () => {
    const p = playerResponseToPost(pr({ microformat: { playerMicroformatRenderer: { publishDate: '2024-03-14' } } }), READ_AT, ORIGIN, 'watch')!;
    expect(p.published).toEqual({ raw: '2024-03-14', utc: null });
    expect(p.url).toBe('https://www.youtube.com/watch?v=Qm3sh0rtFa1');
  });
  it('chooses HLS, then a plain progressive URL, else flags cipher-only streams', () => {
    expect(youtubeMedia(pr())[0]).toMatchObject({ type: 'video', sourceUrl: 'https://manifest.googlevideo.com/api/manifest/hls_variant/x/index.m3u8', durationSeconds: 3 });
    const plain = youtubeMedia(pr({ streamingData: { formats: [{ url: 'https://v/18', mimeType: 'video/mp4', height: 360 }, { url: 'https://v/22', mimeType: 'video/mp4', height: 720, width: 1280 }] } }));
    expect(plain[0]).toMatchObject({ sourceUrl: 'https://v/22', width: 1280, height: 720 });
    const ciphered = youtubeMedia(pr({ streamingData: { formats: [{ signatureCipher: 's=x&url=y', mimeType: 'video/mp4', height: 360 }], adaptiveFormats: [{ signatureCipher: 's=x&url=z', mimeType: 'video/mp4', height: 1080, width: 1920 }] } }));
    expect(ciphered[0]).toMatchObject({ sourceUrl: null, width: 1920, height: 1080 });
    expect(ciphered[0]!.flags[0]!.code).toBe('youtube-stream-ciphered');
    expect(youtubeMedia(pr({ streamingData: undefined }))).toEqual([]);
  });
});

describe('youtube playabilityStatus', () => {
  const ex = exchange({ url: 'https://www.youtube.com/watch?v=Qm3sh0rtFa1' });
  it.each([
    ['visible', { status: 'OK' }],
    ['age-gated', { status: 'LOGIN_REQUIRED', reason: 'Sign in to confirm your age', messages: ['This video may be inappropriate for some users.'] }],
    ['age-gated', { status: 'AGE_CHECK_REQUIRED', reason: 'This video may be inappropriate for some users.' }],
    ['login-wall', { status: 'LOGIN_REQUIRED', reason: 'This video is private' }],
    ['rate-limited', { status: 'LOGIN_REQUIRED', reason: "Sign in to confirm you're not a bot" }],
    ['region-gated', { status: 'UNPLAYABLE', reason: 'Video unavailable', errorScreen: { playerErrorMessageRenderer: { subreason: { runs: [{ text: 'The uploader has not made this video available in your country' }] } } } }],
    ['deleted', { status: 'ERROR', reason: 'This video has been removed by the uploader' }],
    ['login-wall', { status: 'UNPLAYABLE', reason: 'Join this channel to get access to members-only content like this video, and other exclusive perks.' }],
    ['unavailable', { status: 'ERROR', reason: 'Video unavailable' }],
    ['not-recognised', {}], // no status at all: not YouTube's word
  ])('%s from %j', (state, ps) => {
    const o = observePlayability({ playabilityStatus: ps }, ex);
    expect(o.state).toBe(state);
    expect(o.signals[0]?.source).toBe('embedded-json');
  });
});

describe('youtube extract from the recording', () => {
  const o = YouTubeOptions.parse({ hosts: ['yt.test'] });
  const run = async (target: URL, status: number, html: string, headers: Array<[string, string]> = [['Content-Type', 'text/html']]) => {
    const ex = exchange({ url: target.href, status, responseHeaders: headers }) as RecordedExchange;
    return youtubeSpec.extract(ctx(viewOf([{ ex, body: html }], target.href)), target, o);
  };
  const page = (r: PlayerResponse) => `<html><script>var ytInitialPlayerResponse = ${JSON.stringify(r)};var meta = 1;</script></html>`;
  it('reads the post and keeps it when age-gated (metadata shown, no stream)', async () => {
    const target = new URL('https://yt.test/watch?v=Qm3sh0rtFa1');
    const ok = await run(target, 200, page(pr()));
    expect(ok?.visibility.state).toBe('visible');
    const gated = await run(target, 200, page(pr({ playabilityStatus: { status: 'LOGIN_REQUIRED', reason: 'Sign in to confirm your age' }, streamingData: undefined })));
    expect(gated?.visibility.state).toBe('age-gated');
    expect(gated?.post?.media).toEqual([]);
  });
  it('does not use a player response for another video or a page without one (not-recognised), and reports 429', async () => {
    const target = new URL('https://yt.test/watch?v=Other000001');
    expect((await run(target, 200, page(pr())))?.visibility.state).toBe('not-recognised');
    expect((await run(target, 200, '<html>consent</html>'))?.visibility.state).toBe('not-recognised');
    // A player response without playabilityStatus is of an unknown shape.
    const bare = new URL('https://yt.test/watch?v=Ar4bicWatch');
    expect((await run(bare, 200, page(pr({ playabilityStatus: undefined }))))?.visibility.state).toBe('not-recognised');
    const limited = await run(target, 429, 'sorry', [['Retry-After', '3600']]);
    expect(limited?.visibility).toMatchObject({ state: 'rate-limited', retryAfter: '3600' });
  });
});

describe('youtube in the registry', () => {
  it('is chosen for post URLs on the real hosts; other pages of the platform fall through to generic', () => {
    expect(selectCollector(new URL('https://www.youtube.com/watch?v=Ar4bicWatch')).id).toBe('youtube');
    expect(selectCollector(new URL('https://m.youtube.com/shorts/Qm3sh0rtFa1')).id).toBe('youtube');
    expect(selectCollector(new URL('https://www.youtube.com/@layla_fa')).id).toBe('generic');
  });
});
