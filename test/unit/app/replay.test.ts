import { describe, expect, it } from 'vitest';
import { configFrom } from '../../../lib/config.js';
import { appOriginOf, replayOriginFor } from '../../../app/api/routes/replay.js';
import { replayArchive, replayViewerHtml } from '../../../evidence/replay.js';
import type { Artifact } from '../../../schemas/artifact.js';

const art = (name: string, role: string, derived = false) => ({ name, role, mediaType: 'application/octet-stream', sha256: `sha256:${'a'.repeat(64)}`, size: 1, storeKey: name, ...(derived ? { derivedFrom: { source: 'traffic.warc.gz', sourceSha256: `sha256:${'b'.repeat(64)}`, method: 'm', tool: 't' } } : {}) }) as unknown as Artifact;

describe('replay origin', () => {
  it("is the web app's host name on the replay port, or the configured public origin", () => {
    expect(replayOriginFor('http://127.0.0.1:8080', { port: 8081, tokenTtlSeconds: 300 })).toBe('http://127.0.0.1:8081');
    expect(replayOriginFor('http://[::1]:8080', { port: 9000, tokenTtlSeconds: 300 })).toBe('http://[::1]:9000');
    expect(replayOriginFor('https://exhibit.example', { port: 8081, publicOrigin: 'https://replay.exhibit.example', tokenTtlSeconds: 300 })).toBe('https://replay.exhibit.example');
  });
  it("takes the app origin from a browser's Origin header, else from the request URL; a malformed Origin is ignored", () => {
    const c = (origin: string | undefined) => ({ req: { header: (n: string) => (n === 'origin' ? origin : undefined), url: 'http://127.0.0.1:8080/api/x' } });
    expect(appOriginOf(c('https://exhibit.example'))).toBe('https://exhibit.example');
    expect(appOriginOf(c(undefined))).toBe('http://127.0.0.1:8080');
    expect(appOriginOf(c('null'))).toBe('http://127.0.0.1:8080');
    expect(appOriginOf(c('https://x.example/path'))).toBe('http://127.0.0.1:8080');
  });
  it('config: the public origin must be an http(s) origin (no path, query or fragment); the token lifetime is bounded', () => {
    expect(configFrom({ replay: { publicOrigin: 'https://replay.exhibit.example/' } }).replay.publicOrigin).toBe('https://replay.exhibit.example');
    for (const bad of ['https://replay.exhibit.example/viewer', 'javascript:alert(1)', 'https://r.example/?a=1', 'not a url']) expect(() => configFrom({ replay: { publicOrigin: bad } }), bad).toThrow();
    expect(() => configFrom({ replay: { tokenTtlSeconds: 86_400 } })).toThrow();
    expect(configFrom({}).replay).toEqual({ tokenTtlSeconds: 300 });
  });
});

describe('replay archive and viewer page', () => {
  it('prefers the WACZ, else the WARC; none when the capture recorded neither', () => {
    expect(replayArchive([art('screenshot.png', 'screenshot'), art('traffic.warc.gz', 'warc')])?.name).toBe('traffic.warc.gz');
    expect(replayArchive([art('traffic.warc.gz', 'warc'), art('derived/capture.wacz', 'wacz', true)])?.name).toBe('derived/capture.wacz');
    expect(replayArchive([art('screenshot.png', 'screenshot')])).toBeNull();
  });
  it('puts captured values into the viewer page as attribute text only', () => {
    const html = replayViewerHtml({ archiveUrl: '/archive/t/traffic.warc.gz', pageUrl: 'https://x.example/"><script>alert(1)</script>', scriptUrl: '/rwp/ui.js', replayBase: '/rwp/', title: "<b>'t'</b>" });
    expect(html).not.toContain('<script>alert(1)');
    expect(html).toContain('url="https://x.example/&#34;&#62;&#60;script&#62;alert(1)&#60;/script&#62;"');
    expect(html.match(/<script/g)).toHaveLength(1);
  });
});

describe('range requests on the replay origin', () => {
  it('answers one byte range, a suffix and an open end; refuses ranges past the end; ignores what it does not parse', async () => {
    const { parseRange } = await import('../../../app/api/replay-server.js');
    expect(parseRange('bytes=0-9', 100)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=90-', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-10', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=50-1000', 100)).toEqual({ start: 50, end: 99 });
    expect(parseRange('bytes=100-', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=9-3', 100)).toBe('unsatisfiable');
    for (const h of [undefined, 'bytes=-', 'bytes=0-1,5-9', 'items=0-1', 'bytes=a-b']) expect(parseRange(h, 100), String(h)).toBeNull();
  });
});
