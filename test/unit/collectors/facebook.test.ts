import * as cheerio from 'cheerio';
import { describe, expect, it } from 'vitest';
import type { RecordedExchange } from '../../../collectors/browser/recorded-exchange.js';
import { facebookSpec, FacebookOptions, findStory, openGraphPost, parseFacebookUrl, relayPreloads, storyComments, storyToPost } from '../../../collectors/facebook.js';
import { Post } from '../../../schemas/post.js';
import { exchange, recordings } from '../../support/recorded.js';

const READ_AT = '2026-01-02T03:04:05.000Z';
const ORIGIN = 'https://www.facebook.com';
const PAGE = `${ORIGIN}/sahel.news.page/posts/1122334455667788`;
const { viewOf, ctx } = recordings('facebook', { observedAt: READ_AT, pageUrl: PAGE });
const options = FacebookOptions.parse({});


const SHARED = { __typename: 'Story', post_id: '999', message: { text: 'the shared post, not this one' }, attachments: [{ media: { __typename: 'Photo', id: 'p9', image: { uri: '/shared.jpg', width: 10, height: 10 } } }] };
const story = {
  __typename: 'Story',
  post_id: '1122334455667788',
  wwwURL: PAGE,
  actors: [{ __typename: 'Page', id: '100', name: 'أخبار الساحل', url: `${ORIGIN}/sahel.news.page`, profile_picture: { uri: '/avatar.jpg' } }],
  attached_story: SHARED,
  comet_sections: {
    content: { story: { message: { text: 'انقطاع المياه 💧 #الساحل' }, attachments: [{ styles: { attachment: { all_subattachments: { nodes: [
      { media: { __typename: 'Photo', id: 'p1', accessibility_caption: 'street', image: { uri: '/v/1.jpg?stp=s600x600', width: 600, height: 450 }, viewer_image: { uri: '/v/1.jpg', width: 1280, height: 960 } } },
      { media: { __typename: 'Photo', id: 'p1', image: { uri: '/v/1.jpg?dup', width: 1, height: 1 } } },
      { media: { __typename: 'Photo', id: 'p2', image: { uri: '/v/2.jpg', width: 480, height: 640 }, viewer_image: { uri: '/v/2-big.jpg', width: 480, height: 640 } } },
    ] }, web_link: { url: 'https://l.facebook.com/l.php?u=https%3A%2F%2Fexample.org%2Fwater' } } } }] } },
    context_layout: { story: { comet_sections: { metadata: [{ story: { creation_time: 1710411667 } }] } } },
    feedback: { reaction_count: { count: 1200 }, share_count: { count: 87 }, comment_rendering_instance: { comments: { total_count: 2 } }, comment_list: { edges: [
      { node: { __typename: 'Comment', id: 'c1', body: { text: 'الله يعينكم' }, created_time: 1710412000, author: { id: 'u1', name: 'Hiba', url: `${ORIGIN}/hiba.saleh` }, feedback: { reactors: { count: 14 } } } },
      { node: { __typename: 'Comment', id: 'c2', body: { text: 'reply' }, created_time: 1710412100, author: { id: 'u2', name: 'K', url: `${ORIGIN}/profile.php?id=2` }, comment_parent: { id: 'c1' }, message: { text: 'not the post text' } } },
    ] } },
  },
};
const sjs = (node: unknown): string => `<script type="application/json" data-sjs>${JSON.stringify({ require: [['ScheduledServerJS', 'handle', null, [{ __bbox: { require: [['RelayPrefetchedStreamCache', 'next', [], ['adp_x', { __bbox: { complete: true, result: { data: { node } } } }]]] } }]]] })}</script>`;

describe('facebook URLs', () => {
  it('parses posts, permalinks, watch and video URLs and refuses the rest', () => {
    expect(parseFacebookUrl(new URL(PAGE))).toEqual({ id: '1122334455667788', kind: 'post' });
    expect(parseFacebookUrl(new URL(`${ORIGIN}/sahel.news.page/posts/pfbid02abcXYZ`))).toEqual({ id: 'pfbid02abcXYZ', kind: 'post' });
    expect(parseFacebookUrl(new URL(`${ORIGIN}/permalink.php?story_fbid=123&id=456`))).toEqual({ id: '123', kind: 'post' });
    expect(parseFacebookUrl(new URL(`${ORIGIN}/watch/?v=987654321012345`))).toEqual({ id: '987654321012345', kind: 'video' });
    expect(parseFacebookUrl(new URL(`${ORIGIN}/sahel.news.page/videos/987654321012345/`))).toEqual({ id: '987654321012345', kind: 'video' });
    for (const u of [`${ORIGIN}/sahel.news.page`, `${ORIGIN}/watch/?v=abc`, `${ORIGIN}/permalink.php?id=4`, `${ORIGIN}/groups/x/`, `${ORIGIN}/login/`]) expect(parseFacebookUrl(new URL(u))).toBeNull();
    expect(facebookSpec.matches(new URL(PAGE.replace('www.facebook.com', 'facebook.example')), options)).toBe(false);
  });
});

describe('facebook Relay preload', () => {
  it('finds the Story by post_id or by the video it holds, never a shared post', () => {
    const pre = relayPreloads(`<html>${sjs(story)}<script type="application/json">{"broken</script></html>`);
    expect(pre).toHaveLength(1);
    expect(findStory(pre, '1122334455667788')?.post_id).toBe('1122334455667788');
    expect(findStory(pre, '999')).toBeNull();
    const video = { __typename: 'Story', post_id: '22', attachments: [{ media: { __typename: 'Video', id: '77', playable_url: '/v.mp4' } }] };
    expect(findStory(relayPreloads(sjs(video)), '77')?.post_id).toBe('22');
    expect(relayPreloads('<script type="application/json">{"require":[["Other",1,2,[]]]}</script>')).toEqual([]);
  });
  it('reads the Story field by field: largest photo size, no duplicates, nothing from the shared post or the comments', () => {
    const p = Post.parse(storyToPost(story, READ_AT, PAGE));
    expect(p).toMatchObject({
      id: '1122334455667788',
      url: PAGE,
      author: { id: '100', handle: 'sahel.news.page', displayName: 'أخبار الساحل', profileUrl: `${ORIGIN}/sahel.news.page` },
      published: { raw: '1710411667', utc: '2024-03-14T10:21:07.000Z' },
      text: { content: 'انقطاع المياه 💧 #الساحل', direction: 'rtl' },
      hashtags: ['الساحل'],
      links: ['https://l.facebook.com/l.php?u=https%3A%2F%2Fexample.org%2Fwater'],
      engagement: { counts: { reactions: { value: 1200 }, shares: { value: 87 }, replies: { value: 2 } } },
    });
    expect(p.media.map((m) => [m.sourceUrl, m.width])).toEqual([[`${ORIGIN}/v/1.jpg`, 1280], [`${ORIGIN}/v/2-big.jpg`, 480]]);
    expect(p.media[0]?.alt).toBe('street');
    expect(new Set(Object.values(p.sources))).toEqual(new Set(['embedded-json']));
  });
  it('reads the comments with their parents; profile.php authors have no handle', () => {
    const c = storyComments(story, READ_AT, '1122334455667788');
    expect(c.map((x) => [x.id, x.replyTo?.id, x.author?.handle])).toEqual([['c1', '1122334455667788', 'hiba.saleh'], ['c2', 'c1', null]]);
    expect(c[0]?.engagement?.counts.reactions?.value).toBe(14);
  });
  it('reads video duration from seconds or milliseconds and prefers the HD URL', () => {
    const v = (media: Record<string, unknown>) => storyToPost({ __typename: 'Story', post_id: '1', attachments: [{ media: { __typename: 'Video', id: 'v', ...media } }] }, READ_AT, PAGE).media[0];
    expect(v({ playable_url: '/sd.mp4', browser_native_hd_url: '/hd.mp4', length_in_second: 2 })).toMatchObject({ sourceUrl: `${ORIGIN}/hd.mp4`, durationSeconds: 2 });
    expect(v({ playable_url: '/sd.mp4', playable_duration_in_ms: 1500 })).toMatchObject({ sourceUrl: `${ORIGIN}/sd.mp4`, durationSeconds: 1.5 });
    expect(v({ playable_url: '' })).toBeUndefined();
  });
  it('an OpenGraph-only preview becomes a post marked opengraph, or nothing', () => {
    const $ = cheerio.load('<meta property="og:description" content="تحديث ⚡"><meta property="og:url" content="/x/posts/5">');
    expect(openGraphPost($, '5', PAGE)).toMatchObject({ id: '5', url: `${ORIGIN}/x/posts/5`, text: { content: 'تحديث ⚡', direction: 'rtl' }, media: [], sources: { id: 'opengraph', url: 'opengraph', text: 'opengraph' } });
    expect(openGraphPost(cheerio.load('<meta property="og:title" content="Facebook">'), '5', PAGE)).toBeNull();
  });
});

describe('facebook extract and honest states', () => {
  const main = (over: Partial<RecordedExchange> = {}): RecordedExchange => exchange({ url: PAGE, ...over });
  const run = (items: Array<{ ex: RecordedExchange; body?: string }>) => facebookSpec.extract(ctx(viewOf(items)), new URL(PAGE), options);

  it('a Story in the page is visible', async () => {
    const r = await run([{ ex: main(), body: `<html>${sjs(story)}</html>` }]);
    expect(r?.visibility.state).toBe('visible');
    expect(r?.replies).toHaveLength(2);
  });
  it('a redirect to /login/ is a login wall', async () => {
    const r = await run([{ ex: main({ status: 302, statusText: 'Found', responseHeaders: [['Location', `${ORIGIN}/login/?next=x`]] }) }, { ex: exchange({ url: `${ORIGIN}/login/?next=x` }), body: '<form id="login_form"></form>' }]);
    expect(r?.visibility.state).toBe('login-wall');
    expect(r?.post).toBeNull();
  });
  it("Facebook's log-in wall message is a login wall that keeps the OpenGraph preview; a page that is only the log-in form is one too", async () => {
    const r = await run([{ ex: main(), body: '<html><meta property="og:description" content="preview text"><h2>You must log in to continue.</h2><form id="login_form"><input name="pass"></form></html>' }]);
    expect(r?.visibility.state).toBe('login-wall');
    expect(r?.visibility.signals.map((s) => s.source)).toEqual(['dom', 'opengraph']);
    expect(r?.visibility.signals[0]?.detail).toMatch(/You must log in to continue/);
    expect(r?.post?.text?.content).toBe('preview text');
    const bare = await run([{ ex: main(), body: '<html><form id="login_form"></form></html>' }]);
    expect(bare?.visibility.state).toBe('login-wall');
    expect(bare?.post).toBeNull();
  });
  it('a login banner beside the post metadata, without the Story or mobile markup, is not-recognised, never a login wall', async () => {
    const r = await run([{ ex: main(), body: '<html><meta property="og:description" content="preview text"><div class="x1yztbdb">preview text</div><form id="login_form"><input name="pass"></form></html>' }]);
    expect(r?.visibility.state).toBe('not-recognised');
    expect(r?.visibility.reason).toMatch(/log-in form is in the page, but no log-in wall message/);
    // The platform file leaves the post to the generic fallback of the pattern.
    expect(r?.post).toBeNull();
    const plain = await run([{ ex: main(), body: '<html><head><meta property="og:title" content="Sahel"></head><body><p>text</p></body></html>' }]);
    expect(plain?.visibility.state).toBe('not-recognised');
  });
  it('a page with neither is unavailable, quoting the notice; a Story for another post does not count', async () => {
    const r = await run([{ ex: main(), body: `<html><div role="main"><h2>This content isn't available right now</h2></div>${sjs({ ...story, post_id: '5' })}</html>` }]);
    expect(r?.visibility.state).toBe('unavailable');
    expect(r?.visibility.reason).toContain("This content isn't available right now");
    expect((await run([{ ex: main({ status: 404, statusText: 'Not Found' }), body: '' }]))?.visibility.state).toBe('unavailable');
  });
});
