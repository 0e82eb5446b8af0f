import { describe, expect, it } from 'vitest';
import type { Collector } from '../../../collectors/collector.js';
import { COLLECTORS, collectorById, configureCollectors, selectCollector } from '../../../collectors/registry.js';
import { webCollector } from '../../../collectors/web.js';

describe('registry', () => {
  it('ends with generic then web, which take any http(s) URL', () => {
    expect(COLLECTORS[COLLECTORS.length - 1]).toBe(webCollector);
    expect(COLLECTORS[COLLECTORS.length - 2]!.id).toBe('generic');
    expect(selectCollector(new URL('https://example.org/post/1')).id).toBe('generic');
    expect(selectCollector(new URL('http://127.0.0.1:8080/')).id).toBe('generic');
    expect(selectCollector(new URL('https://example.org/'), [webCollector]).id).toBe('web');
    expect(collectorById('web')).toBe(webCollector);
    expect(collectorById('nope')).toBeUndefined();
  });
  it('routes platform URLs to their platform', () => {
    expect(selectCollector(new URL('https://t.me/durov/43')).id).toBe('telegram');
    expect(selectCollector(new URL('https://t.me/s/durov/43')).id).toBe('telegram');
    expect(selectCollector(new URL('https://t.me/s/durov')).id).toBe('telegram');
    expect(selectCollector(new URL('https://mastodon.social/@Gargron/109876543210')).id).toBe('mastodon');
    expect(selectCollector(new URL('https://bsky.app/profile/bsky.app/post/3l4omssdl632g')).id).toBe('bluesky');
    // List pages are targets of their platform (one post per visible item; watchable).
    expect(selectCollector(new URL('https://mastodon.social/tags/%D8%AD%D9%84%D8%A8')).id).toBe('mastodon');
    expect(selectCollector(new URL('https://mastodon.social/@Gargron')).id).toBe('mastodon');
    expect(selectCollector(new URL('https://bsky.app/profile/bsky.app')).id).toBe('bluesky');
    expect(selectCollector(new URL('https://bsky.app/profile/bsky.app/post/3l4omssdl632g/quotes')).id).toBe('bluesky');
    expect(selectCollector(new URL('https://bsky.app/search?q=gaza')).id).toBe('bluesky');
    // Not a post or list URL of the platform: the generic fallback.
    expect(selectCollector(new URL('https://t.me/durov')).id).toBe('generic');
    expect(selectCollector(new URL('https://bsky.app/settings')).id).toBe('generic');
    expect(selectCollector(new URL('https://bsky.app/search')).id).toBe('generic');
  });
  it('routes fediverse object URL shapes on any other host to activitypub, and nothing else', () => {
    for (const u of ['https://social.example/@alice/113344556677', 'https://akkoma.example/notice/AkQ7pLm2Zx', 'https://pleroma.example/objects/6f1c2a9e-4b7d-4c1e-9a55-0d3e2b1f7a10', 'https://misskey.example/notes/9kq3x7abcd', 'https://peertube.example/videos/watch/3b8e1f52-9c4d-4a7e-8f21-6d5c4b3a2e10', 'https://peertube.example/w/7cQ9kz2Lm4Np8Rt5Vx3Yb1', 'https://social.example/users/alice/statuses/1133']) {
      expect(selectCollector(new URL(u)).id, u).toBe('activitypub');
    }
    // Look-alikes that are not objects stay generic: a channel tab, a slug, a short id, a blog.
    for (const u of ['https://www.youtube-like.example/@channel/videos', 'https://medium.example/@writer/my-story-3f2a', 'https://misskey.example/notes/abc', 'https://blog.example/2024/03/post', 'https://social.example/@alice']) {
      expect(selectCollector(new URL(u)).id, u).toBe('generic');
    }
    // A configured Mastodon server keeps its own collector.
    expect(selectCollector(new URL('https://mastodon.social/@Gargron/109876543210')).id).toBe('mastodon');
  });
  it('refuses URLs no collector handles', () => {
    for (const u of ['ftp://example.org/x', 'file:///etc/passwd', 'javascript:alert(1)', 'chrome://settings']) {
      expect(() => selectCollector(new URL(u))).toThrow(expect.objectContaining({ name: 'PermanentError', code: 'UNSUPPORTED_SCHEME' }));
    }
  });
  it('asks collectors in order, so a platform collector placed before web wins', () => {
    const platform: Collector = { ...webCollector, id: 'murmur', matches: (u) => u.hostname === 'murmur.example' };
    expect(selectCollector(new URL('https://murmur.example/@a/post/1'), [platform, webCollector]).id).toBe('murmur');
    expect(selectCollector(new URL('https://other.example/'), [platform, webCollector]).id).toBe('web');
  });
  it('web declares what it produces', () => {
    expect([...webCollector.capabilities].sort()).toEqual(['media', 'mhtml', 'page', 'screenshot', 'warc']);
  });
  it('points a platform at other hosts through its options, not through loopback special cases', () => {
    const fixture = new URL('http://127.0.0.1:45678/sahel_news/101');
    expect(selectCollector(fixture).id).toBe('generic');
    const configured = configureCollectors({ telegram: { hosts: ['127.0.0.1:45678'] } });
    expect(selectCollector(fixture, configured).id).toBe('telegram');
    // The override replaces the defaults.
    expect(selectCollector(new URL('https://t.me/durov/43'), configured).id).toBe('generic');
    expect(configured.map((c) => c.id)).toEqual(COLLECTORS.map((c) => c.id));
    expect(configureCollectors({}).find((c) => c.id === 'telegram')!.matches(new URL('https://t.me/durov/43'))).toBe(true);
  });
  it('refuses bad collector options with a ConfigError', () => {
    expect(() => configureCollectors({ telegram: { hosts: 't.me' } })).toThrow(expect.objectContaining({ name: 'ConfigError', code: 'INVALID_CONFIG', message: expect.stringContaining('collectors.telegram: hosts') }));
    expect(() => configureCollectors({ bluesky: { plc: 'not a url' } })).toThrow(expect.objectContaining({ name: 'ConfigError' }));
    expect(() => configureCollectors({ nosuch: {} })).toThrow(/no collector has this id/);
    expect(() => configureCollectors({ web: { x: 1 } })).toThrow(/takes no options/);
  });
});
