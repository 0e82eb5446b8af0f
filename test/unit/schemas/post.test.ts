import { describe, expect, it } from 'vitest';
import { POST_SOURCES, PostDocument, VISIBILITY_STATES } from '../../../schemas/post.js';

const doc = {
  schemaVersion: 'exhibit.post/1',
  platform: 'telegram',
  collector: { id: 'telegram', version: '1.0.0' },
  requestedUrl: 'https://t.me/a/1',
  pageUrl: 'https://t.me/s/a/1',
  observedAt: '2026-01-02T03:04:05.000Z',
  visibility: { state: 'visible', reason: null, signals: [{ source: 'dom', url: null, detail: 'x' }], httpStatus: 200 },
  post: {
    id: 'a/1', url: 'https://t.me/a/1', author: null, published: { raw: '2024-03-14T10:21:07+00:00', utc: '2024-03-14T10:21:07.000Z' },
    text: { content: 'سلام', html: null, language: null, direction: 'rtl' }, media: [], links: [], mentions: [], hashtags: [],
    replyTo: null, quoteOf: null, repostOf: null, engagement: null, sources: { text: 'dom' },
  },
  replies: [], quoted: null, proof: null, collectorRequests: [], readFrom: [],
};

describe('post.json schema', () => {
  it('accepts a document and fills defaults', () => {
    const d = PostDocument.parse(doc);
    expect(d.visibility.retryAfter).toBeNull();
    expect(d.post?.uri).toBeNull();
  });
  it('keeps the closed vocabularies closed', () => {
    expect(VISIBILITY_STATES).toEqual(['visible', 'login-wall', 'deleted', 'unavailable', 'age-gated', 'region-gated', 'rate-limited', 'not-recognised']);
    expect(POST_SOURCES).toEqual(['api-json', 'embedded-json', 'dom', 'oembed', 'opengraph', 'json-ld']);
    expect(PostDocument.safeParse({ ...doc, visibility: { ...doc.visibility, state: 'hidden' } }).success).toBe(false);
    expect(PostDocument.safeParse({ ...doc, post: { ...doc.post, sources: { text: 'guess' } } }).success).toBe(false);
    expect(PostDocument.safeParse({ ...doc, post: { ...doc.post, sources: { colour: 'dom' } } }).success).toBe(false);
  });
  it('refuses local times, bad digests and unknown versions', () => {
    expect(PostDocument.safeParse({ ...doc, observedAt: '2026-01-02T03:04:05+01:00' }).success).toBe(false);
    expect(PostDocument.safeParse({ ...doc, post: { ...doc.post, published: { raw: 'x', utc: '2024-03-14 10:21' } } }).success).toBe(false);
    expect(PostDocument.safeParse({ ...doc, readFrom: [{ url: 'u', sha256: 'md5:00', source: 'dom' }] }).success).toBe(false);
    expect(PostDocument.safeParse({ ...doc, schemaVersion: 'exhibit.post/2' }).success).toBe(false);
  });
});
