import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as cheerio from 'cheerio';
import { describe, expect, it } from 'vitest';
import { ActivityPubOptions, activityPubSpec } from '../../../collectors/activitypub.js';
import type { RecordedExchange } from '../../../collectors/browser/recorded-exchange.js';
import { actorToProfile, atRef, BlueskyOptions, blueskySpec, feedItemToPost, parseBlueskyListUrl, postViewToPost, viewRecordToPost } from '../../../collectors/bluesky.js';
import { accountToProfile, MastodonOptions, mastodonSpec, parseMastodonListUrl, qualifyAcct, statusToPost } from '../../../collectors/mastodon.js';
import { actorHandle, advertisedObjectUrl, AP_ACCEPT, looksLikeActivityPubObject, mentionHandle, objectMedia, objectToPost, readActivityPub } from '../../../collectors/platform/activitypub-object.js';
import { readTelegramChannelInfo } from '../../../collectors/telegram.js';
import { Post, Profile } from '../../../schemas/post.js';
import { actor, akkomaNote, misskeyNote, peertubeVideo, question, wordpressArticle } from '../../fixtures/activitypub/server.js';
import { postView, quoteView } from '../../fixtures/bluesky/server.js';
import { account, tagTimeline } from '../../fixtures/mastodon/server.js';
import { exchange, recordings } from '../../support/recorded.js';

/**
 * Federated handles, references, profiles and list items read from the fixtures' JSON and HTML
 * (each shape's source is in the fixture's README). No network: these are the parsers the
 * collectors run over recorded responses.
 */
const READ_AT = '2026-01-02T03:04:05.000Z';
const O = 'https://social.example';

describe('Mastodon: handles are fully qualified', () => {
  it('qualifies a bare acct with the host of the account URL, keeps a remote acct as served', () => {
    expect(qualifyAcct('alice', 'https://social.example/@alice')).toBe('alice@social.example');
    expect(qualifyAcct('bob@other.example', 'https://other.example/@bob')).toBe('bob@other.example');
    expect(qualifyAcct('@alice', null, 'social.example')).toBe('alice@social.example');
    // Nothing to qualify with: the acct as served, never an invented domain.
    expect(qualifyAcct('alice', 'not a url')).toBe('alice');
  });
  it('author, mentions, boosts and quotes of a hashtag timeline carry user@domain', () => {
    const [remote, boost, local] = tagTimeline(O).map((s) => Post.parse(statusToPost(s as never, READ_AT, `${O}/tags/x`)));
    expect(remote!.author?.handle).toBe('karim@other.example');
    expect(remote!.mentions.map((m) => m.handle)).toEqual(['layla@social.example']);
    expect(remote!.contentWarning).toEqual({ summary: 'سیاست / politics', sensitive: true });
    expect(remote!.poll).toMatchObject({ multiple: false, votersCount: 10, options: [{ title: 'بله 👍', votes: 7 }, { title: 'نه', votes: 3 }], closed: null });
    expect(remote!.text?.direction).toBe('rtl');
    expect(boost!.author?.handle).toBe('sana@social.example');
    expect(boost!.repostOf).toEqual({ id: '1205', url: `${O}/@omar/1205`, authorHandle: 'omar@social.example', uri: `${O}/users/omar/statuses/1205` });
    // A boost shows the boosted text, not the (empty) wrapper's.
    expect(boost!.text?.content).toBe('Power is back on in Aziziyeh as of 11:00 ✅');
    expect(local!.author?.handle).toBe('layla@social.example');
    expect(local!.mentions[0]?.handle).toBe('omar@social.example');
    expect(local!.contentWarning).toBeUndefined();
  });
  it('reads an account as a profile with its counts, and parses list URLs', () => {
    const p = Profile.parse(accountToProfile(account('layla', O) as never, READ_AT, `${O}/@layla`));
    expect(p).toMatchObject({ kind: 'account', handle: 'layla@social.example', description: 'صحفية من حلب 📰 Journalist in Aleppo', avatarUrl: `${O}/system/accounts/avatars/layla/m-avatar.jpg`, counts: { posts: { value: 42 }, followers: { value: 120 }, following: { value: 80 } } });
    expect(Object.values(p.sources).every((s) => s === 'api-json')).toBe(true);
    expect(parseMastodonListUrl(new URL(`${O}/tags/%D8%AD%D9%84%D8%A8`))).toEqual({ kind: 'tag', tag: 'حلب' });
    expect(parseMastodonListUrl(new URL(`${O}/@layla`))).toEqual({ kind: 'profile', acct: 'layla' });
    expect(parseMastodonListUrl(new URL(`${O}/@layla@other.example`))).toEqual({ kind: 'profile', acct: 'layla@other.example' });
    for (const u of [`${O}/@layla/1100`, `${O}/tags/a/b`, `${O}/tags/%E0%A4`, `${O}/explore`]) expect(parseMastodonListUrl(new URL(u)), u).toBeNull();
  });
});

describe('Bluesky: references keep the at:// URI, the bsky.app URL and the handle', () => {
  const B = 'https://bsky.app';
  const LAYLA_POST = 'at://did:plc:k3a7fixturelaylahaddad00/app.bsky.feed.post/3kq2ablz7ks2a';
  it('a plain quote (embed.record) and a quote with media (embed.recordWithMedia)', () => {
    const plain = Post.parse(postViewToPost(quoteView({ rkey: '3kq2q1aaaaaq1', author: { did: 'did:plc:o', handle: 'omar.bsky.social', displayName: 'Omar' }, text: 'x', lang: 'en', at: '2024-03-14T12:00:00.000Z' }, B) as never, READ_AT, B));
    expect(plain.quoteOf).toEqual({ id: '3kq2ablz7ks2a', uri: LAYLA_POST, url: `${B}/profile/layla.bsky.social/post/3kq2ablz7ks2a`, authorHandle: 'layla.bsky.social' });
    const withMedia = postView('3kq2q2aaaaaq2', B) as never;
    const p = Post.parse(postViewToPost(withMedia, READ_AT, B));
    // Before: the handle was read from the wrong level of recordWithMedia#view and lost.
    expect(p.quoteOf).toEqual({ id: '3kq2ablz7ks2a', uri: LAYLA_POST, url: `${B}/profile/layla.bsky.social/post/3kq2ablz7ks2a`, authorHandle: 'layla.bsky.social' });
    expect(p.media).toMatchObject([{ type: 'image', alt: 'سیلاب کا پانی گلی میں', width: 640, height: 480 }]);
    expect(p.text?.direction).toBe('rtl');
  });
  it('the quoted post itself is read from the embedded viewRecord', () => {
    const embed = (postView('3kq2q2aaaaaq2', B) as { embed: { record: { record: unknown } } }).embed.record.record;
    const q = Post.parse(viewRecordToPost(embed as never, READ_AT, B));
    expect(q).toMatchObject({ id: '3kq2ablz7ks2a', uri: LAYLA_POST, author: { handle: 'layla.bsky.social' }, engagement: { counts: { likes: { value: 1203 } } } });
    expect(q.media.length).toBe(2);
  });
  it('a reply names its parent by full URI and URL, with the handle when the response named it', () => {
    const reply = postView('3kq2r2aaaaaa2', B) as never;
    const parentUri = 'at://did:plc:k3a7fixtureomar0000000000/app.bsky.feed.post/3kq2r1aaaaaa1';
    expect(postViewToPost(reply, READ_AT, B).replyTo).toEqual({ id: '3kq2r1aaaaaa1', uri: parentUri, url: `${B}/profile/did:plc:k3a7fixtureomar0000000000/post/3kq2r1aaaaaa1`, authorHandle: null });
    expect(postViewToPost(reply, READ_AT, B, new Map([[parentUri, 'omar.bsky.social']])).replyTo).toEqual({ id: '3kq2r1aaaaaa1', uri: parentUri, url: `${B}/profile/omar.bsky.social/post/3kq2r1aaaaaa1`, authorHandle: 'omar.bsky.social' });
    expect(atRef('not-an-at-uri', null, B)).toEqual({ id: 'not-an-at-uri', uri: 'not-an-at-uri', url: null, authorHandle: null });
  });
  it('a repost in a feed is the reposter\'s item pointing at the post', () => {
    const post = postView('3kq2q1aaaaaq1', B) as never;
    const by = { did: 'did:plc:k3a7fixturelaylahaddad00', handle: 'layla.bsky.social', displayName: 'Layla' };
    const withUri = Post.parse(feedItemToPost({ post, reason: { $type: 'app.bsky.feed.defs#reasonRepost', by, uri: 'at://did:plc:k3a7fixturelaylahaddad00/app.bsky.feed.repost/3kq2rpaaaaar1', indexedAt: '2024-03-14T12:20:00.000Z' } }, READ_AT, B));
    expect(withUri).toMatchObject({ id: '3kq2rpaaaaar1', author: { handle: 'layla.bsky.social' }, repostOf: { id: '3kq2q1aaaaaq1', uri: 'at://did:plc:k3a7fixtureomar0000000000/app.bsky.feed.post/3kq2q1aaaaaq1', url: `${B}/profile/omar.bsky.social/post/3kq2q1aaaaaq1`, authorHandle: 'omar.bsky.social' }, sources: { repostOf: 'api-json' } });
    // Older appviews name no repost record: a stable id from the post and the reposter.
    expect(feedItemToPost({ post, reason: { $type: 'app.bsky.feed.defs#reasonRepost', by } }, READ_AT, B).id).toBe('3kq2q1aaaaaq1:repost:did:plc:k3a7fixturelaylahaddad00');
    expect(feedItemToPost({ post }, READ_AT, B).repostOf).toBeNull();
  });
  it('reads a profile and parses list URLs', () => {
    const p = Profile.parse(actorToProfile({ did: 'did:plc:x', handle: 'layla.bsky.social', displayName: 'لیلیٰ', description: 'صحافی 🌊', followersCount: 2048, followsCount: 311, postsCount: 157 }, READ_AT, B));
    expect(p).toMatchObject({ kind: 'account', id: 'did:plc:x', counts: { followers: { value: 2048 }, following: { value: 311 }, posts: { value: 157 } }, sources: { description: 'api-json' } });
    expect(p.sources.avatar).toBeUndefined();
    expect(parseBlueskyListUrl(new URL(`${B}/profile/layla.bsky.social`))).toEqual({ kind: 'profile', actor: 'layla.bsky.social' });
    expect(parseBlueskyListUrl(new URL(`${B}/profile/layla.bsky.social/post/3kq2ablz7ks2a/quotes`))).toEqual({ kind: 'quotes', actor: 'layla.bsky.social', rkey: '3kq2ablz7ks2a' });
    expect(parseBlueskyListUrl(new URL(`${B}/search?q=%DA%A9%D8%B1%D8%A7%DA%86%DB%8C`))).toEqual({ kind: 'search', q: 'کراچی' });
    for (const u of [`${B}/search`, `${B}/search?q=%20`, `${B}/profile/x/post/3kq2ablz7ks2a`, `${B}/profile/x/post/3kq2ablz7ks2a/likes`]) expect(parseBlueskyListUrl(new URL(u)), u).toBeNull();
  });
});

describe('Telegram: the channel preview as a profile', () => {
  it('reads title, @username, description, avatar and every counter as displayed', () => {
    const html = readFileSync(path.resolve('test/fixtures/telegram/public/s/sahel_news.html'), 'utf8').replaceAll('{{origin}}', 'https://t.me');
    const p = Profile.parse(readTelegramChannelInfo(cheerio.load(html), 'https://t.me/s/sahel_news', READ_AT));
    expect(p).toMatchObject({ kind: 'channel', id: 'sahel_news', handle: 'sahel_news', displayName: 'Sahel News', description: 'اخبار ساحل و بازار 📰\nSahel and market news, every day', avatarUrl: 'https://t.me/media/tg-avatar.jpg', url: 'https://t.me/sahel_news' });
    expect(p.counts).toEqual({ subscribers: { display: '12.4K', value: 12400 }, photos: { display: '1.8K', value: 1800 }, videos: { display: '214', value: 214 }, links: { display: '96', value: 96 } });
    expect(Object.values(p.sources).every((s) => s === 'dom')).toBe(true);
    expect(readTelegramChannelInfo(cheerio.load('<div class="tgme_widget_message"></div>'), 'https://t.me/s/x', READ_AT)).toBeNull();
  });
});

describe('ActivityPub objects from any server', () => {
  it('recognises object URL shapes only', () => {
    expect(looksLikeActivityPubObject(new URL('https://a.example/notes/9kq3x7abcd'))).toBe(true);
    expect(looksLikeActivityPubObject(new URL('ftp://a.example/notes/9kq3x7abcd'))).toBe(false);
    expect(looksLikeActivityPubObject(new URL('https://a.example/@chan/videos'))).toBe(false);
  });
  it('finds the advertised alternate in markup or in a Link header, and nothing else', () => {
    expect(advertisedObjectUrl('<link rel="alternate" type="application/activity+json" href="/objects/1">', [], O)).toBe(`${O}/objects/1`);
    expect(advertisedObjectUrl('<link rel="alternate" type=\'application/ld+json; profile="https://www.w3.org/ns/activitystreams"\' href="/o/2">', [], O)).toBe(`${O}/o/2`);
    expect(advertisedObjectUrl('<link rel="alternate" type="application/json+oembed" href="/oembed">', [], O)).toBeNull();
    expect(advertisedObjectUrl(null, [['Link', '<https://x.example/i.json>; rel="icon", <https://social.example/users/a/statuses/1>; rel="alternate"; type="application/activity+json"']], O)).toBe('https://social.example/users/a/statuses/1');
    expect(advertisedObjectUrl('<p>nothing</p>', [['Link', '<https://x.example/>; rel="preload"']], O)).toBeNull();
  });
  it('Akkoma Note: content warning, attachments as Link lists, qualified mentions, tags, reply, quote, updated', () => {
    const p = Post.parse(objectToPost(akkomaNote(O), actor(O, `${O}/users/nadia`, 'nadia', 'نادية Nadia'), READ_AT, `${O}/objects/x`));
    expect(p.author).toEqual({ id: `${O}/users/nadia`, handle: 'nadia@social.example', displayName: 'نادية Nadia', profileUrl: `${O}/users/nadia` });
    expect(p.contentWarning).toEqual({ summary: 'صور قد تكون مؤلمة', sensitive: true });
    expect(p.mentions.map((m) => m.handle)).toEqual(['karim@social.example', 'layla@other.example']);
    expect(p.hashtags).toEqual(['إدلب']);
    expect(p.links).toEqual(['https://example.org/idlib-report']);
    expect(p.media).toMatchObject([{ type: 'image', sourceUrl: `${O}/media/ap-photo-1.jpg`, width: 640, height: 480, alt: 'خيام تحت المطر' }, { type: 'image', alt: 'Children queueing for water' }]);
    expect(p.replyTo?.uri).toBe('https://other.example/users/layla/statuses/112200');
    expect(p.quoteOf?.uri).toBe('https://other.example/users/layla/statuses/112100');
    expect(p.updated?.utc).toBe('2024-03-15T08:30:00.000Z');
    expect(p.text).toMatchObject({ language: 'ar', direction: 'rtl' });
  });
  it('an actor document that is not the author gives no handle (never a guess)', () => {
    const p = objectToPost(akkomaNote(O), actor(O, `${O}/users/someone-else`, 'someone', 'x'), READ_AT, O);
    expect(p.author?.handle).toBeNull();
    expect(objectToPost(akkomaNote(O), null, READ_AT, O).author).toEqual({ id: `${O}/users/nadia`, handle: null, displayName: null, profileUrl: `${O}/users/nadia` });
  });
  it('Misskey Note: the quote from _misskey_quote/quoteUrl, no CW when summary is null', () => {
    const p = Post.parse(objectToPost(misskeyNote(O), actor(O, `${O}/users/9kq2reza00`, 'reza', 'رضا Reza', 'Person', `${O}/@reza`), READ_AT, O));
    expect(p.author?.handle).toBe('reza@social.example');
    expect(p.author?.profileUrl).toBe(`${O}/@reza`);
    expect(p.quoteOf?.uri).toBe('https://other.example/users/layla/statuses/112100');
    expect(p.text?.content).toContain('گزارش از تهران');
    expect(p.links).toEqual([]);
    expect(p.contentWarning).toEqual({ summary: null, sensitive: false });
  });
  it('Question: options with their counts, voters, end time', () => {
    const p = Post.parse(objectToPost(question(O), null, READ_AT, O));
    expect(p.poll).toEqual({ multiple: false, options: [{ title: 'نعم ✅', votes: 21 }, { title: 'لا ❌', votes: 30 }, { title: 'جزئياً', votes: 6 }], votersCount: 57, endTime: { raw: '2024-03-18T09:00:00Z', utc: '2024-03-18T09:00:00.000Z' }, closed: null });
    const multi = Post.parse(objectToPost({ ...question(O), oneOf: undefined, anyOf: [{ type: 'Note', name: 'a' }] }, null, READ_AT, O));
    expect(multi.poll).toMatchObject({ multiple: true, options: [{ title: 'a', votes: null }] });
  });
  it('PeerTube Video: the largest MP4 rendition, the Person among attributedTo, the text/html URL, markdown kept as text', () => {
    const v = peertubeVideo(O);
    expect(objectMedia(v, O)).toEqual([{ type: 'video', sourceUrl: `${O}/media/ap-video-240.mp4`, artifact: null, assembledArtifact: null, width: null, height: 240, durationSeconds: 1, alt: null, flags: [] }]);
    const p = Post.parse(objectToPost(v, actor(O, `${O}/accounts/arash`, 'arash', 'آرش Arash'), READ_AT, O));
    expect(p.author?.handle).toBe('arash@social.example');
    expect(p.url).toBe(`${O}/w/7cQ9kz2Lm4Np8Rt5Vx3Yb1`);
    expect(p.text).toMatchObject({ html: null, language: 'fa', direction: 'rtl' });
    expect(p.text?.content.startsWith('سیل در خوزستان — گزارش میدانی\n\n')).toBe(true);
  });
  it('WordPress Article: title then body, links, hashtag', () => {
    const p = Post.parse(objectToPost(wordpressArticle(O), actor(O, `${O}/author/maryam/`, 'maryam', 'مریم'), READ_AT, O));
    expect(p.text?.content).toBe('گزارش سیل اهواز\n\nآب تا زانو در خیابان‌های اهواز بالا آمد. نقشه');
    expect(p.links).toEqual(['https://example.org/ahvaz-map']);
    expect(p.hashtags).toEqual(['اهواز']);
    expect(p.author?.handle).toBe('maryam@social.example');
  });
  it('handles: preferredUsername@host of the actor id; bare mention names take the host of their href', () => {
    expect(actorHandle({ id: 'https://pt.example/accounts/a', preferredUsername: 'a' })).toBe('a@pt.example');
    expect(actorHandle({ id: 'https://pt.example/accounts/a' })).toBeNull();
    expect(mentionHandle('@bob', 'https://x.example/users/bob')).toBe('bob@x.example');
    expect(mentionHandle('@bob@y.example', 'https://x.example/users/bob')).toBe('bob@y.example');
    expect(mentionHandle('@bob', null)).toBe('bob');
  });
});

describe('Mastodon: reply references', () => {
  it('name the replied-to author when the status itself names the account (self-reply or mention), qualified', () => {
    const [, , local] = tagTimeline(O) as Array<Record<string, unknown>>;
    const reply = { ...local!, id: '9', in_reply_to_id: '8', in_reply_to_account_id: '109000000000000002' };
    expect(statusToPost(reply as never, READ_AT, O).replyTo).toEqual({ id: '8', url: null, authorHandle: 'omar@social.example' });
    const self = { ...reply, in_reply_to_account_id: '109000000000000001' };
    expect(statusToPost(self as never, READ_AT, O).replyTo?.authorHandle).toBe('layla@social.example');
    const unknown = { ...reply, in_reply_to_account_id: '4242' };
    expect(statusToPost(unknown as never, READ_AT, O).replyTo?.authorHandle).toBeNull();
  });
});

describe('honest states on list pages and ActivityPub answers (recorded exchanges, no network)', () => {
  const { viewOf, ctx } = recordings('fediverse', { observedAt: READ_AT });
  const page = (url: string) => ({ ex: exchange({ url }), body: '<!DOCTYPE html><title>x</title>' });
  const json = (url: string, body: unknown, status = 200, extra: Partial<RecordedExchange> = {}) => ({ ex: exchange({ url, status, responseHeaders: [['Content-Type', 'application/json']], ...extra }), body: body as object });

  // Not-recognised, never `visible` with no items: a watch diffs only a visible list, so a list not read never reads as all gone.
  const notRecognisedList = { visibility: { state: 'not-recognised' }, post: null };
  it('Mastodon hashtag timeline: a list not read is not-recognised (never an empty visible list a watch would read as all gone)', async () => {
    const tag = `${O}/tags/x`;
    const o = MastodonOptions.parse({ hosts: ['social.example'] });
    const unread = await mastodonSpec.extract(ctx(viewOf([page(tag)], tag)), new URL(tag), o);
    expect(unread).toMatchObject(notRecognisedList);
    expect(unread?.replies ?? []).toEqual([]);
    expect(await mastodonSpec.extract(ctx(viewOf([page(tag), json(`${O}/api/v1/timelines/tag/x`, { error: 'oops' })], tag)), new URL(tag), o)).toMatchObject(notRecognisedList);
    // The server said so: a 404 is a state, and a list is its items.
    const gone = await mastodonSpec.extract(ctx(viewOf([page(tag), json(`${O}/api/v1/timelines/tag/x`, { error: 'Record not found' }, 404)], tag)), new URL(tag), o);
    expect(gone?.visibility.state).toBe('unavailable');
    const ok = await mastodonSpec.extract(ctx(viewOf([page(tag), json(`${O}/api/v1/timelines/tag/x`, tagTimeline(O))], tag)), new URL(tag), o);
    expect(ok?.post).toBeNull();
    expect(ok?.replies?.map((r) => r.id)).toEqual(['1301', '1302', '1100']);
  });
  it('Mastodon profile: no account lookup, or an answer that is not an account, is not-recognised', async () => {
    const prof = `${O}/@layla`;
    const o = MastodonOptions.parse({ hosts: ['social.example'] });
    expect(await mastodonSpec.extract(ctx(viewOf([page(prof)], prof)), new URL(prof), o)).toMatchObject(notRecognisedList);
    expect(await mastodonSpec.extract(ctx(viewOf([page(prof), json(`${O}/api/v1/accounts/lookup?acct=layla`, { nope: 1 })], prof)), new URL(prof), o)).toMatchObject(notRecognisedList);
    // The server's word: the lookup answered 404.
    expect((await mastodonSpec.extract(ctx(viewOf([page(prof), json(`${O}/api/v1/accounts/lookup?acct=layla`, { error: 'Record not found' }, 404)], prof)), new URL(prof), o))?.visibility.state).toBe('unavailable');
  });
  it('Bluesky quotes list: a list not fetched, or an answer that is not a list, is not-recognised', async () => {
    const B = 'https://bsky.app';
    const quotes = `${B}/profile/a.example/post/3kq2ablz7ks2a/quotes`;
    const o = BlueskyOptions.parse({});
    const api = `https://public.api.bsky.app/xrpc/app.bsky.feed.getQuotes?uri=${encodeURIComponent('at://did:plc:a/app.bsky.feed.post/3kq2ablz7ks2a')}`;
    expect(await blueskySpec.extract(ctx(viewOf([page(quotes)], quotes)), new URL(quotes), o)).toMatchObject(notRecognisedList);
    expect(await blueskySpec.extract(ctx(viewOf([page(quotes), json(api, { uri: 'x' })], quotes)), new URL(quotes), o)).toMatchObject(notRecognisedList);
    const ok = await blueskySpec.extract(ctx(viewOf([page(quotes), json(api, { uri: 'x', posts: [postView('3kq2q2aaaaaq2', B)] })], quotes)), new URL(quotes), o);
    expect(ok?.replies?.[0]?.quoteOf?.authorHandle).toBe('layla.bsky.social');
  });
  it('ActivityPub collector: no object back is not-recognised (platform generic); the page\'s own 404 or a Tombstone is the server\'s word', async () => {
    const u = `${O}/notes/aboutpage1`;
    const o = ActivityPubOptions.parse({});
    const html = { requestHeaders: [['Accept', AP_ACCEPT]] as Array<[string, string]>, responseHeaders: [['Content-Type', 'text/html']] as Array<[string, string]> };
    const none = await activityPubSpec.extract(ctx(viewOf([page(u), json(u, '<html></html>', 200, html)], u)), new URL(u), o);
    expect(none).toMatchObject({ platform: 'generic', visibility: { state: 'not-recognised' }, post: null });
    expect(none!.visibility.signals.length).toBeGreaterThan(0);
    const notFound = await activityPubSpec.extract(ctx(viewOf([{ ex: exchange({ url: u, status: 404 }), body: '<html></html>' }, json(u, '<html></html>', 404, html)], u)), new URL(u), o);
    expect(notFound?.visibility.state).toBe('unavailable');
    const apReq = { requestHeaders: html.requestHeaders, responseHeaders: [['Content-Type', 'application/activity+json']] as Array<[string, string]> };
    expect((await activityPubSpec.extract(ctx(viewOf([page(u), json(u, { type: 'Tombstone' }, 410, apReq)], u)), new URL(u), o))?.visibility.state).toBe('deleted');
  });
  it('ActivityPub: 410/Tombstone is deleted; an HTML answer, a 404 or a non-ActivityPub request is no object at all', async () => {
    const u = `${O}/notes/9kq3gone00`;
    const apReq = { requestHeaders: [['Accept', AP_ACCEPT]] as Array<[string, string]>, responseHeaders: [['Content-Type', 'application/activity+json']] as Array<[string, string]> };
    const gone = await readActivityPub(viewOf([page(u), json(u, { type: 'Tombstone' }, 410, apReq)], u), new URL(u), READ_AT);
    expect(gone?.visibility.state).toBe('deleted');
    expect(gone?.visibility.signals[0]?.detail).toBe('HTTP 410: type Tombstone');
    expect(await readActivityPub(viewOf([page(u), json(u, '<html></html>', 200, { requestHeaders: apReq.requestHeaders, responseHeaders: [['Content-Type', 'text/html']] })], u), new URL(u), READ_AT)).toBeNull();
    expect(await readActivityPub(viewOf([page(u), json(u, { error: 'x' }, 404, apReq)], u), new URL(u), READ_AT)).toBeNull();
    // The same URL fetched without the ActivityPub Accept (the page itself) is never taken for the object.
    expect(await readActivityPub(viewOf([json(u, misskeyNote(O))], u), new URL(u), READ_AT)).toBeNull();
    const ok = await readActivityPub(viewOf([page(u), json(u, misskeyNote(O), 200, apReq)], u), new URL(u), READ_AT);
    expect(ok).toMatchObject({ platform: 'activitypub', visibility: { state: 'visible' }, post: { uri: `${O}/notes/9kq3x7abcd` } });
  });
});
