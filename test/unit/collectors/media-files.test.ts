import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { extensionFor, isWholeRange, mediaFileName, pickExchange, planMedia, rangedOnlyMedia, writeMediaFiles } from '../../../collectors/browser/media-files.js';
import type { RecordedExchange } from '../../../collectors/browser/recorded-exchange.js';
import { SpoolFile } from '../../../schemas/artifact.js';
import { exchange } from '../../support/recorded.js';

const img = (url: string, over: Partial<RecordedExchange> = {}) => exchange({ url, responseHeaders: [['Content-Type', 'image/jpeg']], ...over });

describe('extensionFor and mediaFileName', () => {
  it('maps media types, then falls back to the URL, then bin', () => {
    expect(extensionFor('image/jpeg', 'http://x/a')).toBe('jpg');
    expect(extensionFor('video/mp4', 'http://x/a.bin')).toBe('mp4');
    expect(extensionFor('audio/mpeg', 'http://x/a')).toBe('mp3');
    expect(extensionFor('image/x-fancy-thing', 'http://x/pic.jxl')).toBe('jxl');
    expect(extensionFor('application/octet-stream', 'http://x/noext')).toBe('bin');
  });
  it('builds media/NNN-<safe stem>.<ext> from any URL', () => {
    expect(mediaFileName(1, 'https://cdn.example/a/b/Photo%20One.JPG?w=800', 'jpg')).toBe('media/001-photo-one.jpg');
    expect(mediaFileName(12, 'https://cdn.example/', 'png')).toBe('media/012-media.png');
    expect(mediaFileName(3, 'https://cdn.example/صورة.jpg', 'jpg')).toBe('media/003-media.jpg');
    expect(mediaFileName(4, 'https://cdn.example/Café-Ünïcode.webp', 'webp')).toBe('media/004-cafe-unicode.webp');
    expect(mediaFileName(5, 'https://cdn.example/../../etc/passwd', 'bin')).toBe('media/005-passwd.bin');
    const long = mediaFileName(6, `https://cdn.example/${'x'.repeat(300)}.jpg`, 'jpg');
    expect(long.length).toBeLessThan(70);
    for (const name of [long, mediaFileName(7, 'not a url', 'jpg')]) expect(SpoolFile.safeParse({ path: name, role: 'media', mediaType: 'image/jpeg' }).success).toBe(true);
  });
});

describe('pickExchange', () => {
  it('prefers a complete 200 over a 206 over a truncated one', () => {
    const url = 'http://x/v.mp4';
    const partial = exchange({ url, status: 206, responseHeaders: [['Content-Range', 'bytes 100-199/1000']] });
    const whole = exchange({ url, status: 206, responseHeaders: [['Content-Range', 'bytes 0-999/1000']] });
    const full = exchange({ url, status: 200 });
    expect(pickExchange([partial, whole, full], url)).toMatchObject({ ok: true, exchange: full });
    expect(pickExchange([partial, whole], url)).toMatchObject({ ok: true, exchange: whole, flags: [] });
    expect(pickExchange([partial], url)).toMatchObject({ ok: true, flags: [{ code: 'partial-content' }] });
  });
  it('refuses truncated, failed, blocked and unrecorded media with a reason', () => {
    expect(pickExchange([img('http://x/a', { truncated: true, rawResponseSize: 10, error: { code: 'TOO_LARGE', message: 'limit' } })], 'http://x/a')).toMatchObject({ ok: false, flag: { code: 'media-truncated' } });
    expect(pickExchange([img('http://x/a', { status: 404 })], 'http://x/a')).toMatchObject({ ok: false, flag: { code: 'media-failed', message: expect.stringContaining('HTTP 404') } });
    expect(pickExchange([img('http://x/a', { status: null, error: { code: 'BLOCKED_ADDRESS', message: 'private' } })], 'http://x/a')).toMatchObject({ ok: false, flag: { code: 'media-blocked' } });
    expect(pickExchange([], 'http://x/a')).toMatchObject({ ok: false, flag: { code: 'media-not-recorded' } });
  });
  it('does not count a response still arriving as recorded, even with a 200 status', () => {
    expect(pickExchange([img('http://x/a', { status: 200, completedAt: null })], 'http://x/a')).toMatchObject({ ok: false, flag: { code: 'media-incomplete' } });
    const done = img('http://x/a');
    expect(pickExchange([img('http://x/a', { completedAt: null }), done], 'http://x/a')).toMatchObject({ ok: true, exchange: done });
  });
  it('recognises a 206 that holds the whole resource', () => {
    expect(isWholeRange(exchange({ url: 'http://x', status: 206, responseHeaders: [['content-range', 'bytes 0-9/10']] }))).toBe(true);
    expect(isWholeRange(exchange({ url: 'http://x', status: 206, responseHeaders: [['content-range', 'bytes 0-9/*']] }))).toBe(false);
  });
});

describe('rangedOnlyMedia', () => {
  const vid = (url: string, over: Partial<RecordedExchange> = {}) => exchange({ url, status: 206, requestHeaders: [['Range', 'bytes=0-']], responseHeaders: [['Content-Type', 'video/mp4'], ['Content-Range', 'bytes 0-8191/32515']], ...over });

  it('lists media fetched only in partial ranges, once, in order of first sight', () => {
    const exchanges = [vid('http://x/a.mp4'), vid('http://x/b.webm', { responseHeaders: [['Content-Type', 'video/webm'], ['Content-Range', 'bytes 100-199/1000']] }), vid('http://x/a.mp4', { responseHeaders: [['Content-Type', 'video/mp4'], ['Content-Range', 'bytes 8192-16383/32515']] })];
    expect(rangedOnlyMedia([], exchanges)).toEqual(['http://x/a.mp4', 'http://x/b.webm']);
  });

  it('leaves out media already whole: a complete 200, or a 206 holding every byte', () => {
    expect(rangedOnlyMedia([], [vid('http://x/a.mp4'), exchange({ url: 'http://x/a.mp4', responseHeaders: [['Content-Type', 'video/mp4']] })])).toEqual([]);
    expect(rangedOnlyMedia([], [vid('http://x/a.mp4', { responseHeaders: [['Content-Type', 'video/mp4'], ['Content-Range', 'bytes 0-32514/32515']] })])).toEqual([]);
  });

  it('still lists media whose only 200 was cut short or is still arriving', () => {
    expect(rangedOnlyMedia([], [vid('http://x/a.mp4'), exchange({ url: 'http://x/a.mp4', truncated: true, error: { code: 'CONNECTION_FAILED', message: 'closed' } })])).toEqual(['http://x/a.mp4']);
    expect(rangedOnlyMedia([], [vid('http://x/a.mp4'), exchange({ url: 'http://x/a.mp4', completedAt: null })])).toEqual(['http://x/a.mp4']);
  });

  it('leaves out media cut at a size limit: a whole copy would be cut again', () => {
    expect(rangedOnlyMedia([], [vid('http://x/a.mp4', { truncated: true, error: { code: 'TOO_LARGE', message: 'limit' } })])).toEqual([]);
  });

  it('takes a non-media type only when the DOM shows the URL as media, and ignores non-GET and non-http URLs', () => {
    const octet = vid('http://x/stream', { responseHeaders: [['Content-Type', 'application/octet-stream'], ['Content-Range', 'bytes 0-9/100']] });
    expect(rangedOnlyMedia([], [octet])).toEqual([]);
    expect(rangedOnlyMedia([{ url: 'http://x/stream#t=1', kind: 'video', via: 'video' }], [octet])).toEqual(['http://x/stream']);
    expect(rangedOnlyMedia([], [vid('http://x/a.mp4', { method: 'POST' })])).toEqual([]);
  });
});

describe('planMedia', () => {
  it('takes DOM media in order, dedupes by URL, adds network-only media, skips inline and non-media', () => {
    const exs = [
      exchange({ url: 'http://x/page' }),
      img('http://x/a.jpg'),
      exchange({ url: 'http://x/bg.png', responseHeaders: [['Content-Type', 'image/png; charset=binary']] }),
      exchange({ url: 'http://x/clip.mp4', status: 206, responseHeaders: [['Content-Type', 'video/mp4'], ['Content-Range', 'bytes 0-99/100']] }),
      exchange({ url: 'http://x/fake.jpg', responseHeaders: [['Content-Type', 'text/html']] }),
      exchange({ url: 'http://x/blob', responseHeaders: [['Content-Type', 'application/octet-stream']] }),
      exchange({ url: 'http://x/raw.webp', responseHeaders: [['Content-Type', 'application/octet-stream']] }),
    ];
    const plan = planMedia(
      [
        { url: 'http://x/clip.mp4', kind: 'video', via: 'video-source' },
        { url: 'http://x/a.jpg#frag', kind: 'image', via: 'img' },
        { url: 'http://x/a.jpg', kind: 'image', via: 'img' },
        { url: 'data:image/png;base64,AAAA', kind: 'image', via: 'img' },
        { url: 'http://x/fake.jpg', kind: 'image', via: 'img' },
        { url: 'http://x/raw.webp', kind: 'image', via: 'img' },
        { url: 'http://x/lazy.jpg', kind: 'image', via: 'img' },
        { url: 'http://x/blob', kind: 'image', via: 'css-background' },
      ],
      exs,
    );
    expect(plan.items.map((i) => [i.url, i.mediaType, i.via])).toEqual([
      ['http://x/clip.mp4', 'video/mp4', 'video-source'],
      ['http://x/a.jpg#frag', 'image/jpeg', 'img'],
      ['http://x/raw.webp', 'image/webp', 'img'],
      ['http://x/blob', 'application/octet-stream', 'css-background'],
      ['http://x/bg.png', 'image/png', 'recorded'],
    ]);
    expect(plan.items[2]!.flags).toEqual([expect.objectContaining({ code: 'media-type-guessed' })]);
    expect(plan.items[3]!.flags).toEqual([expect.objectContaining({ code: 'media-type-unknown' })]);
    expect(plan.skipped.map((f) => f.code).sort()).toEqual(['inline-media', 'media-not-recorded', 'not-media']);
  });
});

describe('writeMediaFiles', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  it('copies the decoded bytes unchanged and turns decode failures into flags', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'media-unit-'));
    dirs.push(dir);
    const bodyFile = path.join(dir, 'body');
    const bytes = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0xff, 0xd9]);
    writeFileSync(bodyFile, bytes);
    mkdirSync(path.join(dir, 'spool', 'media'), { recursive: true });
    const good = img('http://x/p/One.jpg');
    const bad = img('http://x/bad.jpg', { responseHeaders: [['Content-Type', 'image/jpeg'], ['Content-Encoding', 'zstd']] });
    const broken = img('http://x/broken.jpg');
    const plan = planMedia(
      ['http://x/p/One.jpg', 'http://x/bad.jpg', 'http://x/broken.jpg'].map((url) => ({ url, kind: 'image' as const, via: 'img' })),
      [good, bad, broken],
    );
    const out = await writeMediaFiles(
      plan,
      {
        decodedBodyPath: async (ex) => {
          if (ex.id === good.id) return bodyFile;
          if (ex.id === bad.id) return null;
          throw new Error('body does not decode as gzip');
        },
      },
      path.join(dir, 'spool'),
    );
    expect(out.files).toEqual([{ path: 'media/001-one.jpg', role: 'media', mediaType: 'image/jpeg', sourceUrl: 'http://x/p/One.jpg', flags: [] }]);
    const written = readFileSync(path.join(dir, 'spool', 'media/001-one.jpg'));
    expect(createHash('sha256').update(written).digest('hex')).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(out.skipped).toEqual([
      expect.objectContaining({ code: 'media-undecodable', message: expect.stringContaining('zstd') }),
      expect.objectContaining({ code: 'media-undecodable', message: expect.stringContaining('does not decode') }),
    ]);
  });
});
