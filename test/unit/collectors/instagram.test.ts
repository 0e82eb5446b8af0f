import { describe, expect, it } from 'vitest';
import type { RecordedExchange } from '../../../collectors/browser/recorded-exchange.js';
import { igComments, igMediaItems, igMediaToPost, instagramSpec, InstagramOptions, parseInstagramUrl, type IgMedia } from '../../../collectors/instagram.js';
import { Post } from '../../../schemas/post.js';
import { exchange, recordings } from '../../support/recorded.js';

const READ_AT = '2026-01-02T03:04:05.000Z';
const ORIGIN = 'https://www.instagram.com';
const PAGE = `${ORIGIN}/p/C4sIdeCar01/`;
const GQL = `${ORIGIN}/graphql/query`;
const { viewOf, ctx } = recordings('instagram', { observedAt: READ_AT, pageUrl: PAGE });
const options = InstagramOptions.parse({});


const sidecar = (): IgMedia => ({
  __typename: 'XDTGraphSidecar',
  id: '1',
  shortcode: 'C4sIdeCar01',
  taken_at_timestamp: 1710411667,
  owner: { id: '5', username: 'tehran.diary', full_name: 'دفتر تهران' },
  edge_media_to_caption: { edges: [{ node: { text: 'صف نان 🍞 @sana.k #تهران email@x.org' } }] },
  edge_media_preview_like: { count: 2417 },
  edge_media_to_parent_comment: {
    count: 41,
    edges: [
      { node: { id: 'c1', text: 'چقدر شلوغه', created_at: 1710412000, owner: { id: '6', username: 'sana.k' }, edge_liked_by: { count: 12 }, edge_threaded_comments: { count: 1, edges: [{ node: { id: 'c2', text: '@sana.k تا ظهر', created_at: 1710412600, owner: { id: '5', username: 'tehran.diary' } } }] } } },
      { node: { id: 'c3', text: 'Stay safe', created_at: 1710413000, owner: { id: '7', username: 'omar_w' } } },
    ],
  },
  edge_sidecar_to_children: {
    edges: [
      { node: { __typename: 'XDTGraphImage', id: 'a', display_url: '/v/t51.2885-15/1.jpg?stp=e35', dimensions: { width: 1080, height: 1080 }, accessibility_caption: 'صف طولانی', is_video: false } },
      { node: { __typename: 'XDTGraphVideo', id: 'b', display_url: '/v/t51.2885-15/2.jpg', video_url: '/o1/v/t16/2.mp4', video_duration: 4.5, dimensions: { width: 720, height: 1280 }, is_video: true } },
    ],
  },
});

describe('instagram URLs', () => {
  it('parses post, reel and tv URLs (also with the owner prefix) and refuses the rest', () => {
    expect(parseInstagramUrl(new URL(PAGE))).toEqual({ shortcode: 'C4sIdeCar01', kind: 'p' });
    expect(parseInstagramUrl(new URL(`${ORIGIN}/reel/C4rEeLvId02`))).toEqual({ shortcode: 'C4rEeLvId02', kind: 'reel' });
    expect(parseInstagramUrl(new URL(`${ORIGIN}/reels/C4rEeLvId02/`))).toEqual({ shortcode: 'C4rEeLvId02', kind: 'reel' });
    expect(parseInstagramUrl(new URL(`${ORIGIN}/tehran.diary/p/C4sIdeCar01/`))).toEqual({ shortcode: 'C4sIdeCar01', kind: 'p' });
    for (const u of [`${ORIGIN}/tehran.diary/`, `${ORIGIN}/explore/tags/x/`, `${ORIGIN}/stories/a/123/`, `${ORIGIN}/p/`, `${ORIGIN}/accounts/login/`]) expect(parseInstagramUrl(new URL(u))).toBeNull();
    expect(instagramSpec.matches(new URL('https://instagram.example/p/C4sIdeCar01/'), options)).toBe(false);
  });
});

describe('instagram xdt_shortcode_media', () => {
  it('reads a carousel: every child in order, images and video, with sizes and alt text', () => {
    const m = sidecar();
    expect(igMediaItems(m).map((n) => n.id)).toEqual(['a', 'b']);
    const p = Post.parse(igMediaToPost(m, READ_AT, ORIGIN));
    expect(p.media).toMatchObject([
      { type: 'image', sourceUrl: '/v/t51.2885-15/1.jpg?stp=e35', width: 1080, height: 1080, alt: 'صف طولانی', durationSeconds: null },
      { type: 'video', sourceUrl: '/o1/v/t16/2.mp4', width: 720, height: 1280, durationSeconds: 4.5 },
    ]);
    expect(p).toMatchObject({
      id: 'C4sIdeCar01',
      url: `${ORIGIN}/p/C4sIdeCar01/`,
      author: { id: '5', handle: 'tehran.diary', displayName: 'دفتر تهران', profileUrl: `${ORIGIN}/tehran.diary/` },
      published: { raw: '1710411667', utc: '2024-03-14T10:21:07.000Z' },
      text: { direction: 'rtl', html: null },
      hashtags: ['تهران'],
      engagement: { counts: { likes: { value: 2417 }, replies: { value: 41 } } },
    });
    // A mention, not the local part of an e-mail address.
    expect(p.mentions.map((x) => x.handle)).toEqual(['sana.k']);
    expect(new Set(Object.values(p.sources))).toEqual(new Set(['api-json']));
  });
  it('a single post is its own media; hidden counts stay hidden; a reel links as /reel/', () => {
    const single: IgMedia = { __typename: 'XDTGraphVideo', id: '2', shortcode: 'C4rEeLvId02', product_type: 'clips', is_video: true, video_url: 'https://cdn/v.mp4', display_url: 'https://cdn/c.jpg', video_play_count: 40211, edge_media_preview_like: { count: 9 }, like_and_view_counts_disabled: true };
    const p = igMediaToPost(single, READ_AT, ORIGIN);
    expect(p.media).toMatchObject([{ type: 'video', sourceUrl: 'https://cdn/v.mp4' }]);
    expect(p.url).toBe(`${ORIGIN}/reel/C4rEeLvId02/`);
    expect(p.engagement).toBeNull();
    expect(p.text).toBeNull();
    expect(p.sources.text).toBeUndefined();
  });
  it('flattens comments with their threaded replies, each pointing at its parent', () => {
    const r = igComments(sidecar(), READ_AT, ORIGIN);
    expect(r.map((c) => [c.id, c.replyTo?.id])).toEqual([['c1', 'C4sIdeCar01'], ['c2', 'c1'], ['c3', 'C4sIdeCar01']]);
    expect(r[0]).toMatchObject({ author: { handle: 'sana.k' }, published: { utc: '2024-03-14T10:26:40.000Z' }, engagement: { counts: { likes: { value: 12 } } } });
    expect(r[1]?.mentions).toEqual([{ handle: 'sana.k', id: null, url: `${ORIGIN}/sana.k/` }]);
  });
});

describe('instagram extract and honest states', () => {
  const shell = (over: Partial<RecordedExchange> = {}): RecordedExchange => exchange({ url: PAGE, ...over });
  const gql = (over: Partial<RecordedExchange> = {}): RecordedExchange => exchange({ url: GQL, method: 'POST', responseHeaders: [['Content-Type', 'application/json']], ...over });
  const run = (items: Array<{ ex: RecordedExchange; body?: string | object }>) => instagramSpec.extract(ctx(viewOf(items)), new URL(PAGE), options);

  it('reads the post query the page made for this shortcode, not another one', async () => {
    const other = { ...sidecar(), shortcode: 'Zzzzzz' };
    const r = await run([{ ex: shell(), body: '<html></html>' }, { ex: gql(), body: { data: { xdt_shortcode_media: other } } }, { ex: gql(), body: { data: { xdt_shortcode_media: sidecar() }, status: 'ok' } }]);
    expect(r?.visibility.state).toBe('visible');
    expect(r?.post?.id).toBe('C4sIdeCar01');
    expect(r?.post?.media[0]?.sourceUrl).toBe(`${ORIGIN}/v/t51.2885-15/1.jpg?stp=e35`);
    expect(r?.replies).toHaveLength(3);
  });
  it('a redirect to /accounts/login/ is a login wall', async () => {
    const r = await run([
      { ex: shell({ status: 302, statusText: 'Found', responseHeaders: [['Location', '/accounts/login/?next=%2Fp%2FC4sIdeCar01%2F']] }) },
      { ex: exchange({ url: `${ORIGIN}/accounts/login/?next=%2Fp%2FC4sIdeCar01%2F` }), body: '<form id="loginForm"><input name="password"></form>' },
    ]);
    expect(r?.visibility).toMatchObject({ state: 'login-wall', httpStatus: 200 });
    expect(r?.visibility.signals[0]?.detail).toContain('/accounts/login/');
  });
  it('a 429 on the post query is a rate limit with its Retry-After, even with require_login', async () => {
    const r = await run([{ ex: shell(), body: '<html></html>' }, { ex: gql({ status: 429, statusText: 'Too Many Requests', responseHeaders: [['Content-Type', 'application/json'], ['Retry-After', '300']] }), body: { message: 'Please wait a few minutes before you try again.', require_login: true, status: 'fail' } }]);
    expect(r?.visibility).toMatchObject({ state: 'rate-limited', retryAfter: '300', httpStatus: 429 });
    expect(r?.visibility.signals.map((s) => s.detail)).toContain('message: Please wait a few minutes before you try again.');
  });
  it('a 401/403 with require_login is a login wall; an empty media answer is unavailable', async () => {
    const walled = await run([{ ex: shell(), body: '<html></html>' }, { ex: gql({ status: 403, statusText: 'Forbidden' }), body: { message: 'login_required', require_login: true, status: 'fail' } }]);
    expect(walled?.visibility.state).toBe('login-wall');
    const requireLogin200 = await run([{ ex: shell(), body: '<html></html>' }, { ex: gql(), body: { require_login: true, status: 'fail' } }]);
    expect(requireLogin200?.visibility.state).toBe('login-wall');
    const empty = await run([{ ex: shell(), body: '<html></html>' }, { ex: gql(), body: { data: { xdt_shortcode_media: null }, status: 'ok' } }]);
    expect(empty?.visibility).toMatchObject({ state: 'unavailable', signals: [{ detail: 'data.xdt_shortcode_media: null' }] });
    expect(empty?.post).toBeNull();
  });
  it('no post query at all: a page that is only a login form is a login wall; otherwise not-recognised, never unavailable', async () => {
    expect((await run([{ ex: shell(), body: '<html><input name="username"><input type="password" name="password"></html>' }]))?.visibility.state).toBe('login-wall');
    // A login form beside the post's metadata is not Instagram saying "log in".
    expect((await run([{ ex: shell(), body: '<html><meta property="og:description" content="caption"><input type="password" name="password"></html>' }]))?.visibility.state).toBe('not-recognised');
    const none = await run([{ ex: shell(), body: '<html></html>' }]);
    expect(none?.visibility.state).toBe('not-recognised');
    expect(none?.visibility.signals[0]?.detail).toMatch(/no POST \/graphql\/query/);
    // Unrelated GraphQL answers (another query, no media key) decide nothing.
    expect((await run([{ ex: shell(), body: '<html></html>' }, { ex: gql(), body: { data: { user: {} } } }]))?.visibility.state).toBe('not-recognised');
  });
  it('HTTP errors on the page itself win', async () => {
    expect((await run([{ ex: shell({ status: 404, statusText: 'Not Found' }), body: 'x' }]))?.visibility.state).toBe('unavailable');
    expect((await run([{ ex: shell({ status: 429, statusText: 'Too Many Requests' }), body: 'x' }]))?.visibility.state).toBe('rate-limited');
  });
});
