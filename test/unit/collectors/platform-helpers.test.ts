import { describe, expect, it } from 'vitest';
import { failureForObservation, notRecognised, observeHttpStatus, visible } from '../../../collectors/platform/honest-state.js';
import { parseM3u8 } from '../../../collectors/platform/hls.js';
import { hashtagsIn, htmlToText, parseCount, publishedTime, textDirection } from '../../../collectors/platform/text.js';
import { hostIn } from '../../../collectors/platform/capture-platform-page.js';
import { exchange } from '../../support/recorded.js';

describe('text helpers', () => {
  it('finds the direction from the first strong character (bidi P2)', () => {
    expect(textDirection('  123 🕊️ مرحبا hello')).toBe('rtl');
    expect(textDirection('«hello» مرحبا')).toBe('ltr');
    expect(textDirection('ہمارے محلے')).toBe('rtl');
    expect(textDirection('שלום')).toBe('rtl');
    expect(textDirection('12 🙏 !')).toBeNull();
  });
  it('turns served markup into the text a reader sees, entities decoded', () => {
    expect(htmlToText('a<br/>b<br>c')).toBe('a\nb\nc');
    expect(htmlToText('<p>one</p><p>two &amp; <a href="x">#three</a></p>')).toBe('one\n\ntwo & #three');
    expect(htmlToText('<span class="invisible">https://</span>example.org')).toBe('https://example.org');
  });
  it('reads counts as displayed, keeping the display', () => {
    expect(parseCount('1.2K')).toEqual({ display: '1.2K', value: 1200 });
    expect(parseCount('845')).toEqual({ display: '845', value: 845 });
    expect(parseCount('12,345')).toEqual({ display: '12,345', value: 12345 });
    expect(parseCount('3M')).toEqual({ display: '3M', value: 3_000_000 });
    expect(parseCount('١٢٣')).toEqual({ display: '١٢٣', value: 123 });
    expect(parseCount('many')).toEqual({ display: 'many', value: null });
    expect(parseCount('1,23')).toEqual({ display: '1,23', value: null });
  });
  it('keeps the raw time and reads UTC only when the zone is stated', () => {
    expect(publishedTime('2024-03-18T06:30:00+03:30')).toEqual({ raw: '2024-03-18T06:30:00+03:30', utc: '2024-03-18T03:00:00.000Z' });
    expect(publishedTime('2024-03-14T10:21:07.123Z')).toEqual({ raw: '2024-03-14T10:21:07.123Z', utc: '2024-03-14T10:21:07.123Z' });
    expect(publishedTime('2024-03-14 10:21')).toEqual({ raw: '2024-03-14 10:21', utc: null });
    expect(publishedTime('yesterday+0100')).toEqual({ raw: 'yesterday+0100', utc: null });
    expect(publishedTime('')).toBeNull();
  });
  it('finds hashtags in any script, once each, not inside URLs', () => {
    expect(hashtagsIn('#دمشق و #المدينة_القديمة #دمشق https://x.org/#frag a#b #کراچی')).toEqual(['دمشق', 'المدينة_القديمة', 'کراچی']);
  });
  it('matches hosts with their port, case-insensitively, http(s) only', () => {
    expect(hostIn(new URL('https://T.ME/x/1'), ['t.me'])).toBe(true);
    expect(hostIn(new URL('http://127.0.0.1:8080/x/1'), ['127.0.0.1:8080'])).toBe(true);
    expect(hostIn(new URL('http://127.0.0.1:8081/x/1'), ['127.0.0.1:8080'])).toBe(false);
    expect(hostIn(new URL('https://t.me.evil.example/x/1'), ['t.me'])).toBe(false);
    expect(hostIn(new URL('ftp://t.me/x'), ['t.me'])).toBe(false);
  });
});

describe('HLS playlists', () => {
  it('reads a master playlist with variants resolved against its URL', () => {
    const p = parseM3u8('#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=180000,RESOLUTION=320x180,CODECS="avc1.42c00d,mp4a.40.2"\n360p/video.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=900000,RESOLUTION=1280x720\nhttps://cdn.example/720p/v.m3u8\n', 'https://video.example/watch/a/b/playlist.m3u8');
    expect(p).toEqual({ kind: 'master', variants: [{ url: 'https://video.example/watch/a/b/360p/video.m3u8', bandwidth: 180000, resolution: '320x180' }, { url: 'https://cdn.example/720p/v.m3u8', bandwidth: 900000, resolution: '1280x720' }] });
  });
  it('reads a media playlist: segments, durations, init map, end', () => {
    const p = parseM3u8('#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MAP:URI="init.mp4"\n#EXTINF:1.5,\nseg0.m4s\n#EXTINF:2.0,\nseg1.m4s\n#EXT-X-ENDLIST\n', 'https://v.example/a/index.m3u8');
    expect(p).toEqual({ kind: 'media', segments: [{ url: 'https://v.example/a/seg0.m4s', duration: 1.5 }, { url: 'https://v.example/a/seg1.m4s', duration: 2 }], map: 'https://v.example/a/init.mp4', encrypted: false, ended: true });
  });
  it('notices encryption and refuses what is not a playlist', () => {
    const p = parseM3u8('#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI="k"\n#EXTINF:1,\na.ts\n', 'https://v.example/x.m3u8');
    expect(p.kind === 'media' && p.encrypted).toBe(true);
    expect(parseM3u8('#EXTM3U\n#EXT-X-KEY:METHOD=NONE\n#EXTINF:1,\na.ts\n', 'https://v.example/x.m3u8')).toMatchObject({ encrypted: false, ended: false });
    expect(() => parseM3u8('<html>not found</html>', 'https://v.example/x.m3u8')).toThrow(/not an HLS playlist/);
  });
});

describe('honest states from HTTP answers', () => {
  const at = (status: number, headers: Array<[string, string]> = []) => exchange({ url: 'https://social.example/api/v1/statuses/1', status, statusText: null, responseHeaders: headers });
  it('maps statuses to the closed vocabulary, keeping the evidence', () => {
    expect(observeHttpStatus(at(401))?.state).toBe('login-wall');
    expect(observeHttpStatus(at(404))?.state).toBe('unavailable');
    expect(observeHttpStatus(at(403))?.state).toBe('unavailable');
    expect(observeHttpStatus(at(410))?.state).toBe('deleted');
    expect(observeHttpStatus(at(451))?.state).toBe('region-gated');
    const rl = observeHttpStatus(at(429, [['X-RateLimit-Reset', '2024-03-14T10:25:00.000Z']]));
    expect(rl).toMatchObject({ state: 'rate-limited', httpStatus: 429, retryAfter: '2024-03-14T10:25:00.000Z' });
    expect(rl?.signals.map((s) => s.detail)).toEqual(['HTTP 429', 'come back at/after: 2024-03-14T10:25:00.000Z']);
    expect(observeHttpStatus(at(429, [['Retry-After', '120'], ['X-RateLimit-Reset', 'later']]))?.retryAfter).toBe('120');
    for (const s of [200, 204, 301, 500, 503]) expect(observeHttpStatus(at(s))).toBeNull();
  });
  it('turns a state into a NOT_VISIBLE failure; rate limits are transient, the rest permanent', () => {
    const rl = observeHttpStatus(at(429))!;
    expect(failureForObservation(rl, 'https://social.example/@a/1', null)).toMatchObject({ code: 'NOT_VISIBLE', kind: 'transient' });
    const gone = observeHttpStatus(at(410))!;
    const f = failureForObservation(gone, 'https://u:secret@social.example/@a/1', { code: 'HTTP_ERROR', kind: 'permanent', message: 'HTTP 410' });
    expect(f).toMatchObject({ code: 'NOT_VISIBLE', kind: 'permanent' });
    expect(f!.message).toContain('(deleted)');
    expect(f!.message).not.toContain('secret');
    const prev = { code: 'TIMEOUT' as const, kind: 'transient' as const, message: 'slow' };
    expect(failureForObservation(visible(), 'https://x.example/', prev)).toBe(prev);
    expect(failureForObservation(visible(), 'https://x.example/', null)).toBeNull();
  });
  it('a page the collector did not recognise is no failure: the capture is sealed as captured', () => {
    const nr = notRecognised('no player JSON', [], 200);
    expect(nr).toMatchObject({ state: 'not-recognised', httpStatus: 200, retryAfter: null });
    expect(failureForObservation(nr, 'https://x.example/', null)).toBeNull();
    const prev = { code: 'TIMEOUT' as const, kind: 'transient' as const, message: 'slow' };
    expect(failureForObservation(nr, 'https://x.example/', prev)).toBe(prev);
  });
});
