import { describe, expect, it } from 'vitest';
import { buildPageFacts, collectMeta, parseJsonLd, traceMainDocument, wireUrl, type PageSnapshot } from '../../../collectors/browser/page-facts.js';
import { PageFacts } from '../../../schemas/capture.js';
import { exchange } from '../../support/recorded.js';

describe('parseJsonLd', () => {
  it('parses every block in order', () => {
    expect(parseJsonLd(['{"@type":"SocialMediaPosting","headline":"x"}', '[{"@type":"Person"}]'])).toEqual([{ '@type': 'SocialMediaPosting', headline: 'x' }, [{ '@type': 'Person' }]]);
  });
  it('keeps a malformed block as { error, raw } instead of throwing or dropping it', () => {
    const raw = '{"@type": "NewsArticle", "headline": "unterminated}';
    const only = parseJsonLd([raw])[0] as { error: string; raw: string };
    expect(only.raw).toBe(raw);
    expect(only.error).toMatch(/^malformed JSON-LD: /);
  });
  it('accepts blocks wrapped in HTML comments or CDATA', () => {
    expect(parseJsonLd(['<!-- {"a":1} -->', '/*<![CDATA[*/{"b":2}/*]]>*/'])).toEqual([{ a: 1 }, { b: 2 }]);
  });
  it('treats an empty block as malformed', () => {
    expect(parseJsonLd([''])[0]).toMatchObject({ raw: '' });
  });
});

describe('collectMeta', () => {
  it('sorts OpenGraph, Twitter and description; keeps repeated keys in order', () => {
    const meta = collectMeta([
      { key: 'og:title', content: 'T' },
      { key: 'og:image', content: 'a.jpg' },
      { key: 'og:image', content: 'b.jpg' },
      { key: 'og:image', content: 'c.jpg' },
      { key: 'article:author', content: 'L' },
      { key: 'Twitter:Card', content: 'summary' },
      { key: 'description', content: 'first' },
      { key: 'description', content: 'second' },
      { key: 'viewport', content: 'width=device-width' },
    ]);
    expect(meta.openGraph).toEqual({ 'og:title': 'T', 'og:image': 'a.jpg', 'og:image[1]': 'b.jpg', 'og:image[2]': 'c.jpg', 'article:author': 'L' });
    expect(meta.twitter).toEqual({ 'twitter:card': 'summary' });
    expect(meta.description).toBe('first');
  });
});

describe('traceMainDocument', () => {
  it('follows 3xx Location hops, relative and absolute, to the page', () => {
    const exs = [
      exchange({ url: 'http://a.example/start', status: 301, responseHeaders: [['Location', '/next']] }),
      exchange({ url: 'http://a.example/style.css' }),
      exchange({ url: 'http://a.example/next', status: 302, responseHeaders: [['location', 'https://b.example/final#frag']] }),
      exchange({ url: 'https://b.example/final', status: 200 }),
    ];
    const t = traceMainDocument(exs, 'http://a.example/start#top');
    expect(t.redirects).toEqual([
      { url: 'http://a.example/start', status: 301, location: 'http://a.example/next' },
      { url: 'http://a.example/next', status: 302, location: 'https://b.example/final' },
    ]);
    expect(t.final?.url).toBe('https://b.example/final');
    expect(t.chain).toHaveLength(3);
  });
  it('ends at the last hop when the redirect target was never requested', () => {
    const t = traceMainDocument([exchange({ url: 'http://a.example/', status: 307, responseHeaders: [['Location', 'http://b.example/']] })], 'http://a.example/');
    expect(t.final?.status).toBe(307);
    expect(t.redirects).toHaveLength(1);
  });
  it('stops on a redirect loop after a bounded number of hops', () => {
    const exs = Array.from({ length: 40 }, () => exchange({ url: 'http://a.example/loop', status: 302, responseHeaders: [['Location', '/loop']] }));
    const t = traceMainDocument(exs, 'http://a.example/loop');
    expect(t.redirects.length).toBeLessThanOrEqual(21);
  });
  it('returns no final exchange when nothing matches', () => {
    expect(traceMainDocument([exchange({ url: 'http://other.example/' })], 'http://a.example/').final).toBeNull();
  });
  it('ignores non-GET exchanges to the same URL', () => {
    const t = traceMainDocument([exchange({ url: 'http://a.example/', method: 'POST', status: 500 }), exchange({ url: 'http://a.example/', status: 200 })], 'http://a.example');
    expect(t.final?.status).toBe(200);
    expect(wireUrl('http://a.example')).toBe('http://a.example/');
  });
});

const snapshot: PageSnapshot = {
  title: 'Post',
  canonicalUrl: 'https://a.example/p/1',
  lang: 'ar',
  htmlDir: null,
  bodyDirection: 'rtl',
  metas: [{ key: 'og:title', content: 'Post' }],
  jsonLdRaw: ['{"@type":"SocialMediaPosting"}', '{bad'],
  documentSize: { width: 1280, height: 3000 },
  media: [],
};

describe('buildPageFacts', () => {
  it('assembles a schema-valid record from the trace and snapshot', () => {
    const final = exchange({ url: 'https://a.example/p/1', responseHeaders: [['Content-Type', 'text/html'], ['Set-Cookie', 'a=1']], remoteIp: '198.51.100.4' });
    const facts = buildPageFacts({
      requestedUrl: 'https://a.example/p/1',
      browserUrl: 'https://a.example/p/1',
      trace: traceMainDocument([final], 'https://a.example/p/1'),
      dns: { host: 'a.example', addresses: ['198.51.100.4'], error: null },
      snapshot,
      exchanges: [final],
      browserFailures: [],
    });
    expect(PageFacts.parse(facts)).toEqual(facts);
    expect(facts).toMatchObject({ status: 200, remoteIp: '198.51.100.4', finalUrl: 'https://a.example/p/1', dir: 'rtl', lang: 'ar', requestCount: 1 });
    expect(facts.headers).toEqual([['Content-Type', 'text/html'], ['Set-Cookie', 'a=1']]);
    expect(facts.jsonLd[1]).toMatchObject({ raw: '{bad' });
  });
  it('prefers the html dir attribute over the computed body direction', () => {
    const facts = buildPageFacts({ requestedUrl: 'http://a.example/', browserUrl: null, trace: { redirects: [], chain: [], final: null }, dns: null, snapshot: { ...snapshot, htmlDir: 'ltr' }, exchanges: [], browserFailures: [] });
    expect(facts.dir).toBe('ltr');
  });
  it('has no final URL when the target never answered, whatever page the browser shows', () => {
    const failed = exchange({ url: 'http://a.example/', status: null, statusText: null, responseHeaders: [], error: { code: 'CONNECTION_FAILED', message: 'ECONNREFUSED' } });
    const facts = buildPageFacts({ requestedUrl: 'http://a.example/', browserUrl: 'http://a.example/', trace: traceMainDocument([failed], 'http://a.example/'), dns: null, snapshot: null, exchanges: [failed], browserFailures: [] });
    expect(facts.finalUrl).toBeNull();
    expect(facts.status).toBeNull();
    expect(facts.blockedRequests).toEqual([{ url: 'http://a.example/', reason: 'CONNECTION_FAILED: ECONNREFUSED' }]);
  });
  it('merges browser-side failures without duplicating proxy ones and skips data: URLs', () => {
    const blocked = exchange({ url: 'http://10.0.0.1/x.js', status: null, error: { code: 'BLOCKED_ADDRESS', message: 'private' } });
    const facts = buildPageFacts({
      requestedUrl: 'http://a.example/',
      browserUrl: 'chrome-error://chromewebdata/',
      trace: { redirects: [], chain: [], final: null },
      dns: null,
      snapshot: null,
      exchanges: [blocked],
      browserFailures: [
        { url: 'http://10.0.0.1/x.js', reason: 'net::ERR_FAILED' },
        { url: 'data:image/png;base64,AAAA', reason: 'net::ERR_ABORTED' },
        { url: 'http://a.example/ws', reason: 'net::ERR_ABORTED' },
      ],
    });
    expect(facts.finalUrl).toBeNull();
    expect(facts.blockedRequests).toEqual([
      { url: 'http://10.0.0.1/x.js', reason: 'BLOCKED_ADDRESS: private' },
      { url: 'http://a.example/ws', reason: 'net::ERR_ABORTED' },
    ]);
  });
});
