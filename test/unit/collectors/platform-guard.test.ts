import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { readPlatformPost, type Extraction, type PlatformSpec } from '../../../collectors/platform/capture-platform-page.js';
import { visible } from '../../../collectors/platform/honest-state.js';
import { PermanentError } from '../../../lib/errors.js';
import { Post } from '../../../schemas/post.js';
import { exchange, recordings } from '../../support/recorded.js';

/**
 * The guard around a platform's extractor (the entry point the capture uses): a crash that is not
 * an ExhibitError, or a post that fails the post.json schema, is "could not parse": not-recognised,
 * read by the generic extraction, with the error named (bounded) in the review flag.
 */
const PAGE = 'https://social.example/@layla/1199';
const HTML = '<!DOCTYPE html><html><head><meta property="og:title" content="Layla"><meta property="og:description" content="انقطاع التيار الكهربائي في الحي"><meta property="og:type" content="article"></head><body></body></html>';
const recorded = recordings('platform-guard', { observedAt: '2026-01-02T03:04:05.000Z', pageUrl: PAGE });

const ctx = () => recorded.ctx(recorded.viewOf([{ ex: exchange({ url: PAGE, responseHeaders: [['content-type', 'text/html; charset=utf-8']] }), body: HTML }]));

function spec(extract: () => Promise<Extraction | null>): PlatformSpec<unknown> {
  return { id: 'test', version: '1', platform: 'testplatform', capabilities: [], configSchema: z.unknown(), matches: () => true, extract };
}

async function guarded(extract: () => Promise<Extraction | null>) {
  return readPlatformPost(spec(extract), ctx(), new URL(PAGE), {});
}

describe('readPlatformPost: an extractor that cannot parse the page', () => {
  it('a TypeError is not-recognised, read the generic way, the error named in the review flag', async () => {
    const got = await guarded(async () => {
      const json = JSON.parse('{"media_attachments":{}}') as { media_attachments: unknown[] };
      return { visibility: visible(), post: null, replies: json.media_attachments.map(() => null as never) };
    });
    expect(got?.found.visibility.state).toBe('not-recognised');
    expect(got?.found.visibility.reason).toMatch(/^the extractor failed with TypeError: /);
    expect(Post.safeParse(got?.found.post).success).toBe(true);
    expect(got?.found.post?.text?.content).toContain('انقطاع التيار');
    expect(got?.review).toHaveLength(1);
    expect(got!.review[0]!.message).toMatch(/^the testplatform collector could not parse this page: the extractor failed with TypeError: .*generic extraction/);
  });

  it('a thrown non-Error value is named too', async () => {
    const got = await guarded(async () => {
      throw 'boom';
    });
    expect(got?.found.visibility.state).toBe('not-recognised');
    expect(got!.review[0]!.message).toContain('the extractor failed with boom');
  });

  it('a post that fails the post.json schema is not-recognised, the schema error named; nothing of the invalid extraction is kept', async () => {
    const bad = { id: 42 } as unknown as Extraction['post'];
    const got = await guarded(async () => ({ visibility: visible(), post: bad, replies: [bad!], proof: null }));
    expect(got?.found.visibility.state).toBe('not-recognised');
    expect(got?.found.replies).toBeUndefined();
    expect(got?.found.post?.id ?? null).not.toBe(42);
    expect(got!.review[0]!.message).toContain('the post does not match the post.json schema');
  });

  it('an invalid visibility observation is not-recognised', async () => {
    const got = await guarded(async () => ({ visibility: { state: 'gone-fishing' } as never, post: null }));
    expect(got?.found.visibility.state).toBe('not-recognised');
    expect(got!.review[0]!.message).toContain('visibility observation does not match');
  });

  it('a huge error message is bounded in the reason and the review flag', async () => {
    const got = await guarded(async () => {
      throw new RangeError(`bad ${'x'.repeat(50_000)}`);
    });
    expect(got!.found.visibility.reason!.length).toBeLessThanOrEqual(300);
    expect(got!.found.visibility.reason!.endsWith('…')).toBe(true);
    expect(got!.review[0]!.message.length).toBeLessThan(1000);
  });

  it('an ExhibitError (a deliberate, typed failure) flows through unchanged', async () => {
    const err = new PermanentError('NAVIGATION_BLOCKED', 'the target is blocked');
    await expect(guarded(async () => Promise.reject(err))).rejects.toBe(err);
  });

  it('a valid extraction passes untouched, with no review flag; null stays null', async () => {
    const ok: Extraction = { visibility: visible(), post: null };
    const got = await guarded(async () => ok);
    expect(got?.found).toBe(ok);
    expect(got?.review).toEqual([]);
    expect(await guarded(async () => null)).toBeNull();
  });
});
