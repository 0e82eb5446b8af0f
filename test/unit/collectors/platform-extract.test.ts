import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as cheerio from 'cheerio';
import { describe, expect, it } from 'vitest';
import { postViewToPost, verifyAtprotoRecord } from '../../../collectors/bluesky.js';
import { findPostNode } from '../../../collectors/platform/generic-extract.js';
import { parseMastodonUrl, statusToPost } from '../../../collectors/mastodon.js';
import { parseTelegramChannelUrl, parseTelegramUrl, readTelegramMessage } from '../../../collectors/telegram.js';
import { Post } from '../../../schemas/post.js';

const FIX = path.resolve('test/fixtures');
const READ_AT = '2026-01-02T03:04:05.000Z';

describe('telegram extraction from the served preview', () => {
  const html = readFileSync(path.join(FIX, 'telegram/public/s/sahel_news.html'), 'utf8').replaceAll('{{origin}}', 'https://t.me');
  const $ = cheerio.load(html, { sourceCodeLocationInfo: true });
  const msg = (id: string) => readTelegramMessage($, $(`.tgme_widget_message[data-post="sahel_news/${id}"]`) as cheerio.Cheerio<never>, 'https://t.me/s/sahel_news/101', READ_AT, html);
  it('reads the album message field by field from the DOM', () => {
    const p = Post.parse(msg('101'));
    expect(p.media.map((m) => m.sourceUrl)).toEqual(['https://t.me/media/tg-photo-1.jpg', 'https://t.me/media/tg-photo-2.jpg', 'https://t.me/media/tg-photo-3.jpg']);
    expect(p.text?.content.split('\n')[0]).toBe('گزارش امروز از بازار تهران: قیمت نان دوباره بالا رفت 🍞📈');
    // The markup exactly as served (a parser would re-serialise <br/> as <br>).
    expect(html).toContain(p.text!.html!);
    expect(p.text?.html).toContain('<br/><br/>');
    expect(p.engagement).toEqual({ readAt: READ_AT, counts: { views: { display: '1.2K', value: 1200 } } });
    expect(Object.values(p.sources)).toEqual(Array(Object.keys(p.sources).length).fill('dom'));
    expect(p.sources.replyTo).toBeUndefined();
  });
  it('reads the reply and the video with its displayed duration', () => {
    const p = msg('102');
    expect(p.replyTo).toEqual({ id: 'sahel_news/101', url: 'https://t.me/sahel_news/101', authorHandle: null });
    expect(p.media).toMatchObject([{ type: 'video', sourceUrl: 'https://t.me/media/tg-video.mp4', durationSeconds: 2 }]);
    // The reply's quoted snippet is not the message text.
    expect(p.text?.content).not.toContain('گزارش');
  });
  // Served markup of a forwarded message on t.me/s/<channel>: a "Forwarded from" header whose link
  // (present when the origin is public) points at the original message and whose text is the
  // origin's display name; a sender hidden by privacy settings has the name in a span, no link.
  it('reads "Forwarded from" as the origin channel, keeping its display name apart from its handle', () => {
    const page = (fwd: string) => {
      const doc = cheerio.load(`<div class="tgme_widget_message js-widget_message" data-post="sahel_news/150"><div class="tgme_widget_message_bubble">
        <div class="tgme_widget_message_forwarded_from accent_color">Forwarded from ${fwd}</div>
        <div class="tgme_widget_message_text js-message_text" dir="auto">نص معاد توجيهه</div>
        <div class="tgme_widget_message_info"><a class="tgme_widget_message_date" href="https://t.me/sahel_news/150"><time datetime="2026-01-02T03:00:00+00:00" class="time">03:00</time></a></div></div></div>`, { sourceCodeLocationInfo: true });
      return readTelegramMessage(doc, doc('.tgme_widget_message') as cheerio.Cheerio<never>, 'https://t.me/s/sahel_news', READ_AT, doc.html());
    };
    const linked = Post.parse(page('<a class="tgme_widget_message_forwarded_from_name" href="https://t.me/desert_wire/77"><span dir="auto">وكالة الصحراء 🌵</span></a>'));
    expect(linked.repostOf).toEqual({ id: 'desert_wire/77', url: 'https://t.me/desert_wire/77', authorHandle: 'desert_wire', authorDisplayName: 'وكالة الصحراء 🌵' });
    const channelOnly = Post.parse(page('<a class="tgme_widget_message_forwarded_from_name" href="https://t.me/desert_wire"><span dir="auto">Desert Wire</span></a>'));
    expect(channelOnly.repostOf).toMatchObject({ id: null, authorHandle: 'desert_wire', authorDisplayName: 'Desert Wire' });
    const hidden = Post.parse(page('<span class="tgme_widget_message_forwarded_from_name"><span dir="auto">Abu Example</span></span>'));
    expect(hidden.repostOf).toEqual({ id: null, url: null, authorHandle: null, authorDisplayName: 'Abu Example' });
  });
  it('parses post URLs and nothing else', () => {
    expect(parseTelegramUrl(new URL('https://t.me/sahel_news/101'))).toEqual({ channel: 'sahel_news', id: '101' });
    expect(parseTelegramUrl(new URL('https://t.me/s/sahel_news/101'))).toEqual({ channel: 'sahel_news', id: '101' });
    for (const u of ['https://t.me/sahel_news', 'https://t.me/s/sahel_news', 'https://t.me/joinchat/abc', 'https://t.me/+abcdef/1', 'https://t.me/ab/1']) expect(parseTelegramUrl(new URL(u))).toBeNull();
    expect(parseTelegramChannelUrl(new URL('https://t.me/s/sahel_news'))).toEqual({ channel: 'sahel_news' });
    expect(parseTelegramChannelUrl(new URL('https://t.me/s/sahel_news/'))).toEqual({ channel: 'sahel_news' });
    for (const u of ['https://t.me/sahel_news', 'https://t.me/s/sahel_news/101', 'https://t.me/s/ab', 'https://t.me/s/']) expect(parseTelegramChannelUrl(new URL(u))).toBeNull();
  });
});

describe('mastodon Status entity', () => {
  const status = {
    id: '7', uri: 'https://s.example/users/a/statuses/7', url: 'https://s.example/@a/7', created_at: '2024-03-14T10:21:07.000Z', language: 'fa',
    content: '<p>سلام <a href="https://s.example/tags/x" class="mention hashtag" rel="tag">#<span>x</span></a> <a href="https://example.org/y">example.org/y</a></p>',
    in_reply_to_id: '6', reblog: null, quote: null,
    account: { id: '1', username: 'a', acct: 'a', display_name: 'A', url: 'https://s.example/@a' },
    media_attachments: [{ type: 'gifv', url: 'https://s.example/m.mp4', description: null, meta: { original: { width: 10, height: 20, duration: 1.5 } } }],
    mentions: [], tags: [{ name: 'x', url: 'https://s.example/tags/x' }], replies_count: 0, reblogs_count: 2, favourites_count: 3, quotes_count: 1,
  };
  it('keeps the HTML as served, the text as read, and only real links', () => {
    const p = Post.parse(statusToPost(status, READ_AT, 'https://s.example/@a/7'));
    expect(p.text).toEqual({ content: 'سلام #x example.org/y', html: status.content, language: 'fa', direction: 'rtl' });
    expect(p.links).toEqual(['https://example.org/y']);
    expect(p.media[0]).toMatchObject({ type: 'gif', width: 10, height: 20, durationSeconds: 1.5 });
    expect(p.engagement?.counts).toMatchObject({ reposts: { value: 2 }, likes: { value: 3 }, quotes: { value: 1 } });
    expect(p.replyTo?.id).toBe('6');
  });
  it('parses status URLs on any configured server', () => {
    expect(parseMastodonUrl(new URL('https://s.example/@a/109876'))).toEqual({ user: 'a', id: '109876' });
    expect(parseMastodonUrl(new URL('https://s.example/@a@b.example/1'))).toEqual({ user: 'a@b.example', id: '1' });
    expect(parseMastodonUrl(new URL('https://s.example/users/a/statuses/5'))).toEqual({ user: 'a', id: '5' });
    expect(parseMastodonUrl(new URL('https://s.example/@a'))).toBeNull();
  });
});

describe('bluesky post view and authorship proof', () => {
  const data = JSON.parse(readFileSync(path.join(FIX, 'bluesky/public/data.json'), 'utf8')) as { author: { did: string }; key: string; records: Record<string, { text: string; facets: unknown[] }>; cids: Record<string, string> };
  const car = readFileSync(path.join(FIX, 'bluesky/public/repo/3kq2ablz7ks2a.car'));
  const rkey = '3kq2ablz7ks2a';
  const text = data.records[rkey]!.text;

  it('reads facets by UTF-8 byte offsets (Urdu text before them)', () => {
    const p = postViewToPost({ uri: `at://${data.author.did}/app.bsky.feed.post/${rkey}`, cid: data.cids[rkey]!, author: { did: data.author.did, handle: 'layla.bsky.social' }, record: data.records[rkey]! as never }, READ_AT, 'https://bsky.app');
    expect(p.hashtags).toEqual(['کراچی']);
    expect(p.links).toEqual(['https://example.org/rain']);
    expect(p.mentions).toEqual([{ handle: 'omar.bsky.social', id: 'did:plc:k3a7fixtureomar0000000000', url: 'https://bsky.app/profile/did:plc:k3a7fixtureomar0000000000' }]);
    expect(p.url).toBe(`https://bsky.app/profile/layla.bsky.social/post/${rkey}`);
  });
  it('verifies the signed commit against the DID document key', async () => {
    const r = await verifyAtprotoRecord(car, data.author.did, data.key, rkey, data.cids[rkey]!, text);
    expect(r.verified).toBe(true);
    expect(r.commitCid).toMatch(/^bafyrei/);
  });
  it('fails a tampered CAR, another key, another record, another DID and a text that differs', async () => {
    const tampered = Buffer.from(car);
    tampered[tampered.length - 20] = tampered[tampered.length - 20]! ^ 0x01;
    expect((await verifyAtprotoRecord(tampered, data.author.did, data.key, rkey, data.cids[rkey]!, text)).verified).toBe(false);
    const other = 'did:key:zQ3shsJcHdhfpKyF3U6rBQziDHsY1ikwCAsqGWhdC1tgaPQxq';
    const wrongKey = await verifyAtprotoRecord(car, data.author.did, other, rkey, data.cids[rkey]!, text);
    expect(wrongKey.verified).toBe(false);
    expect(wrongKey.message).toMatch(/signature/i);
    expect((await verifyAtprotoRecord(car, data.author.did, data.key, rkey, data.cids['3kq2bvid7ks2b']!, text)).verified).toBe(false);
    expect((await verifyAtprotoRecord(car, 'did:plc:someoneelse00000000000000', data.key, rkey, data.cids[rkey]!, text)).verified).toBe(false);
    const edited = await verifyAtprotoRecord(car, data.author.did, data.key, rkey, data.cids[rkey]!, `${text} (edited)`);
    expect(edited).toMatchObject({ verified: false, message: expect.stringMatching(/text differs/) });
  });
});

describe('generic JSON-LD', () => {
  it('finds the post node in arrays and @graph, ignoring breadcrumbs and malformed blocks', () => {
    const node = { '@type': ['NewsArticle'], headline: 'h' };
    expect(findPostNode([{ error: 'malformed JSON-LD', raw: '{' }, [{ '@type': 'Organization' }], { '@graph': [{ '@type': 'BreadcrumbList' }, node] }])).toBe(node);
    expect(findPostNode([{ '@type': 'WebSite' }, { '@type': 'BreadcrumbList' }])).toBeNull();
  });
});
