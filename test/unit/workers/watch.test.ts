import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { formatInterval, parseInterval } from '../../../schemas/watch.js';
import type { Post } from '../../../schemas/post.js';
import { backedOffEvery, contentHash, scheduleOffset, signWebhook } from '../../../workers/watch.js';

const post = (text: string, media: string[] = []): Post => ({
  id: 'chan/1',
  url: null,
  uri: null,
  author: null,
  published: null,
  text: { content: text, html: null, language: null, direction: null },
  media: media.map((sourceUrl) => ({ type: 'image', sourceUrl, artifact: null, assembledArtifact: null, width: null, height: null, durationSeconds: null, alt: null, flags: [] })),
  links: [],
  mentions: [],
  hashtags: [],
  replyTo: null,
  quoteOf: null,
  repostOf: null,
  engagement: { readAt: '2026-01-01T00:00:00Z', counts: { views: { display: '1', value: 1 } } },
  sources: {},
});

describe('parseInterval', () => {
  it('accepts whole minutes, hours and days between 1m and 7d', () => {
    expect(parseInterval('1m')).toEqual({ ok: true, ms: 60_000 });
    expect(parseInterval('15m')).toEqual({ ok: true, ms: 900_000 });
    expect(parseInterval('1h')).toEqual({ ok: true, ms: 3_600_000 });
    expect(parseInterval('7d')).toEqual({ ok: true, ms: 604_800_000 });
    expect(parseInterval('10080m')).toEqual({ ok: true, ms: 604_800_000 });
    expect(parseInterval('168h')).toEqual({ ok: true, ms: 604_800_000 });
  });
  it.each(['', '0m', '30s', '60s', '1.5h', '8d', '169h', '10081m', '15 m', ' 15m', '15M', 'm', '-5m', '+5m', '1h30m', '015m', '1w', '15', '1e3m', '９m', '1000000m'])('rejects %j', (t) => {
    const r = parseInterval(t);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toContain('invalid interval');
  });
  it('formats back', () => {
    expect([60_000, 900_000, 3_600_000, 86_400_000, 90 * 60_000].map(formatInterval)).toEqual(['1m', '15m', '1h', '1d', '90m']);
  });
});

describe('contentHash', () => {
  it('changes with text or media, not with whitespace, views or CDN query strings', () => {
    const h = contentHash(post('hello  world\n', ['https://cdn.example/a.jpg?token=1']));
    expect(h).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(contentHash(post('hello world', ['https://cdn.example/a.jpg?token=2']))).toBe(h);
    expect(contentHash({ ...post('hello world', ['https://cdn.example/a.jpg']), engagement: null })).toBe(h);
    expect(contentHash(post('hello world!', ['https://cdn.example/a.jpg']))).not.toBe(h);
    expect(contentHash(post('hello world', ['https://cdn.example/b.jpg']))).not.toBe(h);
    expect(contentHash(post('hello world', []))).not.toBe(h);
    // NFC: a decomposed é is the same text.
    expect(contentHash(post('caf\u0065\u0301'))).toBe(contentHash(post('caf\u00e9')));
  });
});

describe('backedOffEvery', () => {
  it('keeps the interval below the threshold, then doubles up to the cap', () => {
    const every = 900_000;
    expect([0, 1, 2].map((f) => backedOffEvery(every, f, 3, 86_400_000))).toEqual([every, every, every]);
    expect([3, 4, 5].map((f) => backedOffEvery(every, f, 3, 86_400_000))).toEqual([2 * every, 4 * every, 8 * every]);
    expect(backedOffEvery(every, 50, 3, 86_400_000)).toBe(86_400_000);
    expect(backedOffEvery(every, 5000, 3, 86_400_000)).toBe(86_400_000);
    // A cap below the interval never shortens it.
    expect(backedOffEvery(604_800_000, 10, 3, 86_400_000)).toBe(604_800_000);
  });
});

describe('scheduleOffset', () => {
  it('is stable per watch, inside the interval, and spreads 10,000 watches evenly', () => {
    const every = 900_000;
    expect(scheduleOffset('0190f3a0-0000-7000-8000-000000000001', every)).toBe(scheduleOffset('0190f3a0-0000-7000-8000-000000000001', every));
    const buckets = new Array(900).fill(0) as number[];
    for (let i = 0; i < 10_000; i++) {
      const id = `0190f3a0-0000-7000-8000-${String(i).padStart(12, '0')}`;
      const o = scheduleOffset(id, every);
      expect(o).toBeGreaterThan(0);
      expect(o).toBeLessThan(every);
      buckets[Math.floor(o / 1000)]!++;
    }
    // ~11 a second on average; uniform hashing keeps the busiest second far from "all at once".
    expect(Math.max(...buckets)).toBeLessThan(40);
  });
});

describe('signWebhook', () => {
  it('is sha256=<hex HMAC-SHA256(secret, body)>', () => {
    const body = '{"a":1}';
    expect(signWebhook('s3cret-s3cret-s3cret', body)).toBe(`sha256=${createHmac('sha256', 's3cret-s3cret-s3cret').update(body).digest('hex')}`);
    expect(signWebhook('s3cret-s3cret-s3cret', body)).not.toBe(signWebhook('s3cret-s3cret-s3creT', body));
  });
});
