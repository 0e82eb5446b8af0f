import { describe, expect, it } from 'vitest';
import { activityPubSpec } from '../../../collectors/activitypub.js';
import { blueskySpec } from '../../../collectors/bluesky.js';
import { facebookSpec } from '../../../collectors/facebook.js';
import { instagramSpec } from '../../../collectors/instagram.js';
import { mastodonSpec } from '../../../collectors/mastodon.js';
import type { PlatformSpec } from '../../../collectors/platform/capture-platform-page.js';
import { extractGenericPost } from '../../../collectors/platform/generic-extract.js';
import { redditSpec } from '../../../collectors/reddit.js';
import { telegramSpec } from '../../../collectors/telegram.js';
import { tiktokSpec } from '../../../collectors/tiktok.js';
import { vkSpec } from '../../../collectors/vk.js';
import { xSpec } from '../../../collectors/x.js';
import { youtubeSpec } from '../../../collectors/youtube.js';
import { NOT_SHOWN_STATES } from '../../../schemas/post.js';
import { unknownLayoutPage } from '../../fixtures/fixture-server.js';
import { exchange, recordings } from '../../support/recorded.js';

/**
 * The visibility rule, per platform, on the recording alone: a page that holds the post (og: tags,
 * text, image) in a layout the collector does not know — plus, for API-driven platforms, an API
 * answer of unknown shape or none — is `not-recognised`, never `unavailable`/`deleted`/`login-wall`.
 * Before this rule these came out `unavailable` (Telegram, Mastodon, Bluesky, X, Reddit, YouTube,
 * Instagram, TikTok) or `login-wall` (Facebook, VK: a login form beside the post).
 */
const READ_AT = '2026-01-02T03:04:05.000Z';
const { viewOf, ctx } = recordings('unknown-layout', { observedAt: READ_AT });
const LOGIN_BANNER = '<form id="login_form" action="/login/"><input name="email"><input type="password" name="pass"></form><form id="quick_login_form" action="https://login.example/?act=login"></form>';


interface Case {
  spec: PlatformSpec<unknown>;
  target: string;
  /** Other recorded answers (API JSON of an unknown shape). */
  api?: Array<{ url: string; body: string; type: string }>;
}

const CASES: Case[] = [
  { spec: telegramSpec as PlatformSpec<unknown>, target: 'https://t.me/sahel_news/199' },
  { spec: mastodonSpec as PlatformSpec<unknown>, target: 'https://social.example/@layla/1199' },
  { spec: mastodonSpec as PlatformSpec<unknown>, target: 'https://social.example/@layla/1199', api: [{ url: 'https://social.example/api/v1/statuses/1199', body: '<!DOCTYPE html><div id="mastodon"></div>', type: 'text/html' }] },
  { spec: blueskySpec as PlatformSpec<unknown>, target: 'https://bsky.app/profile/layla.bsky.social/post/3kq2unkn7ks2u' },
  { spec: blueskySpec as PlatformSpec<unknown>, target: 'https://bsky.app/profile/layla.bsky.social/post/3kq2unkn7ks2u', api: [{ url: `https://public.api.bsky.app/xrpc/app.bsky.feed.getPostThread?uri=${encodeURIComponent('at://did:plc:abc/app.bsky.feed.post/3kq2unkn7ks2u')}&depth=10`, body: '{"thread":{"$type":"app.bsky.feed.defs#somethingNew"}}', type: 'application/json' }] },
  { spec: xSpec as PlatformSpec<unknown>, target: 'https://x.com/omar_news/status/1768000000000000099' },
  { spec: redditSpec as PlatformSpec<unknown>, target: 'https://www.reddit.com/r/iran_news/comments/1bf0z9u/power_cut/' },
  { spec: youtubeSpec as PlatformSpec<unknown>, target: 'https://www.youtube.com/watch?v=UnknownLay1' },
  { spec: instagramSpec as PlatformSpec<unknown>, target: 'https://www.instagram.com/p/C4UnKnOwN01/' },
  { spec: facebookSpec as PlatformSpec<unknown>, target: 'https://m.facebook.com/story.php?story_fbid=1122334455669999&id=100064000000001' },
  { spec: tiktokSpec as PlatformSpec<unknown>, target: 'https://www.tiktok.com/@noor.gaza/video/7346001122334455699' },
  { spec: vkSpec as PlatformSpec<unknown>, target: 'https://vk.com/wall-220000001_99' },
  // An object-shaped URL on any server whose answer to the ActivityPub request is HTML: no object, no state.
  { spec: activityPubSpec as PlatformSpec<unknown>, target: 'https://fedi.example/@omid/114455667788', api: [{ url: 'https://fedi.example/@omid/114455667788', body: '<!DOCTYPE html><title>x</title>', type: 'text/html' }] },
  // List pages whose list was not read (no API answer; an answer that is not a list).
  { spec: mastodonSpec as PlatformSpec<unknown>, target: 'https://mastodon.social/tags/%D8%AD%D9%84%D8%A8' },
  { spec: mastodonSpec as PlatformSpec<unknown>, target: 'https://mastodon.social/@layla' },
  { spec: blueskySpec as PlatformSpec<unknown>, target: 'https://bsky.app/search?q=x', api: [{ url: 'https://public.api.bsky.app/xrpc/app.bsky.feed.searchPosts?q=x&limit=25', body: '{"hitsTotal":0}', type: 'application/json' }] },
];

describe('a page holding the post in an unknown layout, per platform', () => {
  for (const c of CASES) {
    it(`${c.spec.id}: not-recognised${c.api ? ' (API answer of unknown shape)' : ''}, never a negative state; the generic extraction reads the post`, async () => {
      const target = new URL(c.target);
      const options = c.spec.configSchema.parse({});
      const pageUrl = (c.spec.pageUrl?.(target, options) ?? target).href;
      const html = unknownLayoutPage({ lang: 'ar', dir: 'rtl', siteName: c.spec.platform, author: 'أخبار الساحل', text: 'توزيع المياه يبدأ غداً 🚚💧 #الساحل', url: target.href, image: `${target.origin}/media/photo.jpg`, published: '2024-03-16T09:00:00Z', extra: LOGIN_BANNER });
      const view = viewOf([{ ex: exchange({ url: pageUrl }), body: html }, ...(c.api ?? []).map((a) => ({ ex: exchange({ url: a.url, responseHeaders: [['Content-Type', a.type]] }), body: a.body }))], pageUrl);
      const r = await c.spec.extract(ctx(view), target, options);
      expect(r, 'an extraction with a state').not.toBeNull();
      expect(NOT_SHOWN_STATES as readonly string[]).not.toContain(r!.visibility.state);
      expect(r!.visibility.state).toBe('not-recognised');
      expect(r!.visibility.reason).toBeTruthy();
      expect(r!.visibility.signals.length).toBeGreaterThan(0);
      // What the pattern fills the post with: every field with its generic source.
      const g = await extractGenericPost(view, READ_AT);
      expect(g?.post.text?.content).toBe('توزيع المياه يبدأ غداً 🚚💧 #الساحل');
      expect(g?.post.sources).toMatchObject({ text: 'opengraph', url: 'opengraph', media: 'opengraph', published: 'dom', hashtags: 'opengraph' });
      expect(g?.post.published).toEqual({ raw: '2024-03-16T09:00:00Z', utc: '2024-03-16T09:00:00.000Z' });
    });
  }
});
