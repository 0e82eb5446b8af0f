import * as cheerio from 'cheerio';
import { describe, expect, it } from 'vitest';
import type { RecordedExchange } from '../../../collectors/browser/recorded-exchange.js';
import { decodeBody, largestPhoto, parseVkUrl, readVkBlock, vkSpec, VkOptions } from '../../../collectors/vk.js';
import { Post } from '../../../schemas/post.js';
import { exchange, recordings } from '../../support/recorded.js';

const READ_AT = '2026-01-02T03:04:05.000Z';
const ORIGIN = 'https://vk.com';
const PAGE = `${ORIGIN}/wall-1_4`;
const { viewOf, ctx } = recordings('vk', { observedAt: READ_AT, pageUrl: PAGE });
const options = VkOptions.parse({});


const onclick = (temp: object): string => `return showPhoto('-1_5', 'wall-1_4', ${JSON.stringify({ temp, queue: 1 })}, event)`.replaceAll('"', '&quot;');
const POST = `<div class="_post post" data-post-id="-1_4">
 <h5 class="post_author"><a class="author" href="/club1" data-from-id="-1">Club</a></h5>
 <div class="post_date"><a class="post_link" href="/wall-1_4"><span class="rel_date" time="1710411667">today at 10:21</span></a></div>
 <div class="wall_post_text">سلام 👋<br>Привет <a href="/feed?section=search&amp;q=%23tag">#tag</a> <a href="/id9" mention_id="id9">Ира</a> <a href="/away.php?to=https%3A%2F%2Fexample.org%2Fa&amp;cc_key=">example.org/a</a></div>
 <div class="page_post_sized_thumbs"><a class="page_post_thumb_wrap" aria-label="photo" onclick="${onclick({ base: '', x_: ['https://sun9-1.userapi.com/a-x.jpg', 160, 120], z_: ['https://sun9-1.userapi.com/a-z.jpg', 1080, 810] })}"></a><a class="page_post_thumb_wrap" onclick="not a photo"></a></div>
 <div class="PostBottomAction PostBottomAction--like"><span class="PostBottomAction__count">1.2K</span></div>
 <div class="like_views"><span class="_views">١٢</span></div>
 <div class="replies"><div class="replies_list">
  <div class="reply" data-post-id="-1_8"><div class="reply_author"><a class="author" href="/id9" data-from-id="9">Ира</a></div><div class="wall_reply_text">Да</div><div class="reply_date"><span class="rel_date" time="1710412000">x</span></div>
   <div class="page_post_sized_thumbs"><a class="page_post_thumb_wrap" onclick="${onclick({ x_: ['https://sun9-1.userapi.com/r.jpg', 10, 10] })}"></a></div>
   <div class="replies_list_deep"><div class="reply" data-post-id="-1_9"><div class="reply_author"><a class="author" href="/club1">Club</a></div><div class="wall_reply_text">Спасибо</div><div class="reply_like"><span class="like_button_count">3</span></div></div></div>
  </div>
 </div></div>
</div>`;
const page = (body: string): string => `<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>${body}</body></html>`;

describe('vk URLs and helpers', () => {
  it('parses wall post URLs and ?w= overlays, and refuses the rest', () => {
    expect(parseVkUrl(new URL(PAGE))).toEqual({ owner: '-1', id: '4' });
    expect(parseVkUrl(new URL(`${ORIGIN}/wall7700001_12`))).toEqual({ owner: '7700001', id: '12' });
    expect(parseVkUrl(new URL(`${ORIGIN}/club1?w=wall-1_4`))).toEqual({ owner: '-1', id: '4' });
    for (const u of [`${ORIGIN}/club1`, `${ORIGIN}/wall-1`, `${ORIGIN}/photo-1_5`, `${ORIGIN}/wall-1_4/x`, `${ORIGIN}/club1?w=photo-1_5`]) expect(parseVkUrl(new URL(u))).toBeNull();
    expect(vkSpec.pageUrl!(new URL(`${ORIGIN}/club1?w=wall-1_4`), options).href).toBe(PAGE);
    expect(vkSpec.matches(new URL('https://vk.example/wall-1_4'), options)).toBe(false);
  });
  it('takes the largest size a showPhoto onclick names, with its base prefix', () => {
    expect(largestPhoto(`return showPhoto('-1_5', 'wall-1_4', ${JSON.stringify({ temp: { base: 'https://sun9-1.userapi.com/', x_: ['x.jpg', 160, 120], y_: ['y.jpg', 807, 605], w_: ['w.jpg', 2560, 1920] } })}, event)`, PAGE)).toEqual({ url: 'https://sun9-1.userapi.com/w.jpg', width: 2560, height: 1920 });
    expect(largestPhoto(`return showPhoto('-1_5', 'wall-1_4', {"temp":{"x_":["/x.jpg",1,1]}}, event)`, PAGE)).toEqual({ url: `${ORIGIN}/x.jpg`, width: 1, height: 1 });
    for (const bad of ['return showPhoto(\'-1_5\', \'wall-1_4\', event)', "return showPhoto('-1_5', 'w', {broken}, event)", "return showPhoto('-1_5', 'w', {\"queue\":1}, event)", 'return false']) expect(largestPhoto(bad, PAGE)).toBeNull();
  });
  it('decodes by the stated charset (windows-1251), UTF-8 otherwise', () => {
    const cp1251 = Buffer.from([0xcf, 0xf0, 0xe8, 0xe2, 0xe5, 0xf2]);
    expect(decodeBody(cp1251, 'text/html; charset=windows-1251')).toBe('Привет');
    expect(decodeBody(Buffer.from('سلام', 'utf8'), 'text/html')).toBe('سلام');
    expect(decodeBody(Buffer.from('سلام', 'utf8'), 'text/html; charset=x-unknown-1')).toBe('سلام');
  });
});

describe('vk post markup', () => {
  const html = page(POST);
  const $ = cheerio.load(html, { sourceCodeLocationInfo: true });
  it('reads the post from its own markup only (not its replies)', () => {
    const p = Post.parse(readVkBlock($, $('._post[data-post-id="-1_4"]') as cheerio.Cheerio<never>, PAGE, READ_AT, html, '.wall_post_text', null));
    expect(p).toMatchObject({
      id: '-1_4',
      url: PAGE,
      author: { id: '-1', handle: 'club1', displayName: 'Club', profileUrl: `${ORIGIN}/club1` },
      published: { raw: '1710411667', utc: '2024-03-14T10:21:07.000Z' },
      text: { content: 'سلام 👋\nПривет #tag Ира example.org/a', direction: 'rtl' },
      hashtags: ['tag'],
      mentions: [{ handle: 'id9', id: 'id9', url: `${ORIGIN}/id9` }],
      links: ['https://example.org/a'],
      media: [{ type: 'image', sourceUrl: 'https://sun9-1.userapi.com/a-z.jpg', width: 1080, height: 810, alt: 'photo' }],
      replyTo: null,
    });
    // The markup as served, byte for byte.
    expect(html).toContain(p.text!.html!);
    expect(p.engagement?.counts).toEqual({ likes: { display: '1.2K', value: 1200 }, views: { display: '١٢', value: 12 } });
    expect(new Set(Object.values(p.sources))).toEqual(new Set(['dom']));
  });
  it('a date without a time attribute is kept as shown, with no UTC reading', () => {
    const h = page('<div class="_post" data-post-id="-1_4"><div class="post_date"><span class="rel_date">today at 10:21</span></div></div>');
    const $$ = cheerio.load(h, { sourceCodeLocationInfo: true });
    expect(readVkBlock($$, $$('._post') as cheerio.Cheerio<never>, PAGE, READ_AT, h, '.wall_post_text', null).published).toEqual({ raw: 'today at 10:21', utc: null });
  });
});

describe('vk extract and honest states', () => {
  const main = (over: Partial<RecordedExchange> = {}): RecordedExchange => exchange({ url: PAGE, responseHeaders: [['Content-Type', 'text/html; charset=utf-8']], ...over });
  const run = (items: Array<{ ex: RecordedExchange; body?: string | Buffer }>) => vkSpec.extract(ctx(viewOf(items)), new URL(PAGE), options);

  it('reads the post and its replies, nested replies answering their parent', async () => {
    const r = await run([{ ex: main(), body: page(POST) }]);
    expect(r?.visibility.state).toBe('visible');
    expect(r?.post?.media).toHaveLength(1);
    expect(r?.replies?.map((x) => [x.id, x.replyTo?.id, x.text?.content, x.media.length])).toEqual([['-1_8', '-1_4', 'Да', 1], ['-1_9', '-1_8', 'Спасибо', 0]]);
    expect(r?.replies?.[1]?.engagement?.counts.likes?.value).toBe(3);
  });
  it('decodes a windows-1251 page', async () => {
    const body = Buffer.concat([Buffer.from('<div class="_post" data-post-id="-1_4"><div class="wall_post_text">'), Buffer.from([0xcf, 0xf0, 0xe8, 0xe2, 0xe5, 0xf2]), Buffer.from('</div></div>')]);
    const r = await run([{ ex: main({ responseHeaders: [['Content-Type', 'text/html; charset=windows-1251']] }), body }]);
    expect(r?.post?.text?.content).toBe('Привет');
  });
  it('deleted only when VK says so; a login redirect or a page that is only a login form is a login wall; unavailable on its error block; otherwise not-recognised', async () => {
    const deleted = await run([{ ex: main(), body: page('<div class="message_page_body">Запись удалена.</div>') }]);
    expect(deleted?.visibility).toMatchObject({ state: 'deleted', signals: [{ detail: '.message_page_body: Запись удалена.' }] });
    const redirect = await run([{ ex: main({ status: 302, statusText: 'Found', responseHeaders: [['Location', '/login?u=2&to=wall-1_4']] }) }, { ex: exchange({ url: `${ORIGIN}/login?u=2&to=wall-1_4` }), body: page('<form id="index_login_form"></form>') }]);
    expect(redirect?.visibility.state).toBe('login-wall');
    expect((await run([{ ex: main(), body: page('<form id="quick_login_form" action="https://login.vk.com/?act=login"></form>') }]))?.visibility.state).toBe('login-wall');
    const gone = await run([{ ex: main(), body: page('<div class="message_page_body">Post not found</div><form id="quick_login_form"></form>') }]);
    expect(gone?.visibility).toMatchObject({ state: 'unavailable', reason: expect.stringContaining('Post not found') });
    // A login form beside the post's metadata is not VK saying "log in".
    expect((await run([{ ex: main(), body: page('<meta property="og:description" content="post text"><form id="quick_login_form" action="https://login.vk.com/?act=login"></form>') }]))?.visibility.state).toBe('not-recognised');
    // Another post on the page is not this one, and VK said nothing about this one.
    expect((await run([{ ex: main(), body: page(POST.replaceAll('-1_4', '-1_44')) }]))?.visibility.state).toBe('not-recognised');
    expect((await run([{ ex: main({ status: 404, statusText: 'Not Found' }), body: '' }]))?.visibility.state).toBe('unavailable');
  });
});
