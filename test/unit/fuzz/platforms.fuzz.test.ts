import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { readPlatformPost, type ExtractContext, type Extraction } from '../../../collectors/platform/capture-platform-page.js';
import type { ReviewFlag } from '../../../schemas/post.js';
import { PlatformObservation, Post } from '../../../schemas/post.js';
import { PLATFORM_FIXTURES } from '../../fixtures/platforms.js';
import { PLATFORM_SPECS, SEED_ORIGIN, viewOfSeeds, type SeedCase, type SeedExchange } from '../../fixtures/fuzz-seeds/seeds.js';
import { applyMutations, fuzzParams, fuzzTimeout, isClearError, mutations, type Mutation } from '../../support/fuzz.js';

/** Where the seeds' `{{origin}}` points: nothing listens there; nothing is fetched. */
const ORIGIN = 'http://127.0.0.1:9';
const site = { url: ORIGIN, host: '127.0.0.1:9', close: async () => undefined };
const OBSERVED_AT = '2026-01-02T03:04:05.000Z';
const seeds = (JSON.parse(readFileSync(path.resolve('test/fixtures/fuzz-seeds/platforms.json'), 'utf8').replaceAll(SEED_ORIGIN, ORIGIN)) as { cases: SeedCase[] }).cases;
const work = mkdtempSync(path.join(os.tmpdir(), 'exhibit-fuzz-platforms-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

type Edit = { kind: 'bytes'; ms: Mutation[] } | { kind: 'json'; at: number; value: unknown };

/** Replace the `at`-th node (depth-first) of a JSON value with `value`. */
function replaceNode(root: unknown, at: number, value: unknown): unknown {
  let i = 0;
  const walk = (v: unknown): unknown => {
    if (i++ === at) return value;
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(root);
}

function edited(body: string, edit: Edit): string {
  if (edit.kind === 'bytes') return applyMutations(Buffer.from(body, 'utf8'), edit.ms).toString('utf8');
  try {
    return JSON.stringify(replaceNode(JSON.parse(body), edit.at, edit.value));
  } catch {
    // Not JSON (HTML): a JSON value pasted into the markup instead.
    const cut = edit.at % Math.max(1, body.length);
    return body.slice(0, cut) + JSON.stringify(edit.value) + body.slice(cut);
  }
}

/** Awkward JSON values: wrong types, empty and huge strings, deep nesting, numbers past 2^53. */
const hostileJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(null, '', 0, -1, 1e308, 2 ** 63, '9007199254740993', [], {}, 'x'.repeat(20000), '<script>alert(1)</script>', 'ابن\u202e\u0000'),
);
const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constant('bytes' as const), ms: mutations(4) }),
  fc.record({ kind: fc.constant('json' as const), at: fc.nat({ max: 400 }), value: hostileJson }),
);

/** What is wrong with an extraction: null when it is null or valid post.json material (the schema it is written with), bounded. */
function problemOf(found: Extraction | null, inputBytes: number): string | null {
  if (found === null) return null;
  const obs = PlatformObservation.safeParse(found.visibility);
  if (!obs.success) return `visibility does not match the schema: ${obs.error.issues.map((i) => i.path.join('.')).join(', ')}`;
  for (const p of [found.post, found.quoted ?? null, ...(found.replies ?? [])]) {
    const r = p ? Post.safeParse(p) : null;
    if (r && !r.success) return `a post does not match the post.json schema: ${r.error.issues.map((i) => `${i.path.join('.')} (${i.message})`).join(', ')}`;
  }
  const size = JSON.stringify(found).length;
  return size < 100_000 + inputBytes * 10 ? null : `output of ${size} characters from ${inputBytes} bytes of input`;
}

function expectWellFormed(found: Extraction | null, inputBytes: number): void {
  expect(problemOf(found, inputBytes)).toBeNull();
}

type Read = { found: Extraction; review: ReviewFlag[] } | null;

/** Run `how` over a seed case's exchanges recorded in a fresh view. */
async function withView<T>(c: SeedCase, exchanges: SeedExchange[], how: (ctx: ExtractContext, options: unknown) => Promise<T>): Promise<T> {
  const spec = PLATFORM_SPECS[c.platform]!;
  const fixture = PLATFORM_FIXTURES.find((f) => f.collectorId === c.platform)!;
  const options = spec.configSchema.parse(fixture.options(site));
  const dir = mkdtempSync(path.join(work, `${c.platform}-`));
  try {
    const view = viewOfSeeds(exchanges, c.pageUrl, dir);
    return await how({ view, snapshot: null, observedAt: OBSERVED_AT, spoolDir: dir, keepResponse: async () => null }, options);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The platform's extractor alone, unguarded. */
async function rawExtract(c: SeedCase, exchanges: SeedExchange[]): Promise<Extraction | null> {
  return withView(c, exchanges, (ctx, options) => PLATFORM_SPECS[c.platform]!.extract(ctx, new URL(c.target), options));
}

/** What the capture reads: the guarded extractor with the not-recognised rule (the entry point capturePlatformPage uses). */
async function read(c: SeedCase, exchanges: SeedExchange[]): Promise<Read> {
  return withView(c, exchanges, (ctx, options) => readPlatformPost(PLATFORM_SPECS[c.platform]!, ctx, new URL(c.target), options));
}

async function extract(c: SeedCase, exchanges: SeedExchange[]): Promise<Extraction | null> {
  return (await read(c, exchanges))?.found ?? null;
}

/** Longest review message a parse failure may produce (the quoted error is bounded). */
const MAX_REVIEW = 1000;

describe('fuzz: platform extractors on damaged responses (seeds: every fixture case of every platform)', () => {
  it('every platform has seeds, and the undamaged seeds extract cleanly', async () => {
    expect(new Set(seeds.map((s) => s.platform))).toEqual(new Set(PLATFORM_FIXTURES.map((f) => f.collectorId)));
    for (const c of seeds) expectWellFormed(await extract(c, c.exchanges), 0);
  });

  for (const platform of PLATFORM_FIXTURES.map((f) => f.collectorId)) {
    const cases = seeds.filter((s) => s.platform === platform && s.exchanges.some((e) => e.body));
    it(
      `${platform}: a damaged page or API response never crashes the capture's extraction; what it returns is valid post.json material, not-recognised when the extractor could not parse it`,
      async () => {
        await fc.assert(
          fc.asyncProperty(fc.constantFrom(...cases), fc.nat(), fc.array(edit, { minLength: 1, maxLength: 3 }), async (c, which, edits) => {
            const withBody = c.exchanges.map((e, i) => ({ e, i })).filter(({ e }) => e.body);
            const target = withBody[which % withBody.length]!;
            const body = edits.reduce(edited, target.e.body!);
            const exchanges = c.exchanges.map((e, i) => (i === target.i ? { ...e, body } : e));
            // What the extractor alone makes of it: a crash or schema-invalid output means it could not parse the page.
            let unparsed = false;
            try {
              const p = problemOf(await rawExtract(c, exchanges), body.length);
              unparsed = p !== null && !p.startsWith('output of');
            } catch (err) {
              unparsed = !isClearError(err);
            }
            let crash: Error | null = null;
            let problem: string | null = null;
            let got: Read = null;
            try {
              got = await read(c, exchanges);
              problem = problemOf(got?.found ?? null, body.length);
            } catch (err) {
              // Only a deliberate, typed error may come out; a TypeError from deep inside is a crash.
              if (!isClearError(err)) crash = err as Error;
            }
            expect(crash, `${c.name}: ${crash?.stack?.split('\n').slice(0, 3).join(' | ')}`).toBeNull();
            expect(problem, c.name).toBeNull();
            if (unparsed) {
              // A shape the extractor could not parse: not-recognised (never a negative state), flagged for review.
              expect(got?.found.visibility.state, c.name).toBe('not-recognised');
              expect(got?.review.map((r) => r.code), c.name).toEqual(['not-recognised']);
              expect(got!.review[0]!.message).toContain('could not parse this page');
              expect(got!.review[0]!.message.length).toBeLessThan(MAX_REVIEW);
            }
          }),
          fuzzParams(30, 2),
        );
      },
      fuzzTimeout(30, 60, 2),
    );
  }
});

/** A seed case with one exchange's JSON body changed by `change`. */
function withJson(platform: string, name: string, urlPart: string, change: (json: any) => void): { c: SeedCase; exchanges: SeedExchange[] } {
  const c = seeds.find((s) => s.platform === platform && s.name === name)!;
  const exchanges = c.exchanges.map((e) => {
    if (!e.url.includes(urlPart) || !e.body) return e;
    const json = JSON.parse(e.body);
    change(json);
    return { ...e, body: JSON.stringify(json) };
  });
  expect(exchanges).not.toEqual(c.exchanges);
  return { c, exchanges };
}

/**
 * The extractor alone still fails on this input (`raw` says how), and the capture's guarded read
 * of it is not-recognised, valid post.json material, with the parse error named in a bounded
 * review flag.
 */
async function expectNotRecognised(c: SeedCase, exchanges: SeedExchange[], raw: RegExp): Promise<Read> {
  let rawFailure: string;
  try {
    rawFailure = problemOf(await rawExtract(c, exchanges), 0) ?? 'none';
  } catch (err) {
    rawFailure = `${(err as Error).name}: ${(err as Error).message}`;
  }
  expect(rawFailure).toMatch(raw);
  const got = await read(c, exchanges);
  expect(problemOf(got?.found ?? null, 0)).toBeNull();
  expect(got?.found.visibility.state).toBe('not-recognised');
  expect(got?.found.visibility.signals).toEqual([]);
  expect(got?.review).toHaveLength(1);
  expect(got!.review[0]!.code).toBe('not-recognised');
  expect(got!.review[0]!.message).toMatch(/^the \w+ collector could not parse this page: /);
  expect(got!.review[0]!.message).toMatch(raw);
  expect(got!.review[0]!.message.length).toBeLessThan(MAX_REVIEW);
  return got;
}

describe('platform extractor crashes and schema-invalid posts the fuzz tests found: not-recognised, read the generic way (regression tests)', () => {
  it('mastodon: media_attachments that is not an array', async () => {
    const { c, exchanges } = withJson('mastodon', 'arabic-thread-with-images', '/api/v1/statuses/1100', (j) => (j.media_attachments = {}));
    await expectNotRecognised(c, exchanges, /TypeError/);
  });
  it('bluesky: a thread whose post has no record', async () => {
    const { c, exchanges } = withJson('bluesky', 'urdu-images-thread-signed', 'getPostThread', (j) => delete j.thread.post.record);
    await expectNotRecognised(c, exchanges, /TypeError/);
  });
  it('reddit: a comment listing that is not a listing', async () => {
    const { c, exchanges } = withJson('reddit', 'persian-gallery-with-comment-tree', '.json', (j) => (j[1].data.children = {}));
    await expectNotRecognised(c, exchanges, /TypeError/);
  });
  it('x: a syndication answer whose lang is not a string', async () => {
    const { c, exchanges } = withJson('x', 'login-redirect-read-from-embed-endpoint', 'tweet-result', (j) => (j.lang = { code: 'ur' }));
    await expectNotRecognised(c, exchanges, /does not match the post\.json schema/);
  });
  it('tiktok: embedded itemStruct whose id key changed (a NUL byte inside it)', async () => {
    const c = seeds.find((s) => s.platform === 'tiktok' && s.name === 'arabic-video-with-comments')!;
    const exchanges = c.exchanges.map((e, i) => (i === 0 ? { ...e, body: e.body!.replace('"itemStruct":{"id"', '"itemStruct":{"\u0000id"') } : e));
    expect(exchanges).not.toEqual(c.exchanges);
    await expectNotRecognised(c, exchanges, /does not match the post\.json schema/);
  });
});

describe('platform extractor bugs the fuzz tests found, fixed (regression tests)', () => {
  it('facebook: an og:url or og:image that is not a URL is left out of the OpenGraph preview behind the log-in wall, not thrown on', async () => {
    const c = seeds.find((s) => s.platform === 'facebook' && s.name === 'login-form-opengraph-only')!;
    const damage = (body: string): string => body.replace(/(<meta property="og:url" content=")[^"]*/, '$1http://[').replace('<meta property="og:type"', '<meta property="og:image" content="https://[::1"><meta property="og:type"');
    const exchanges = c.exchanges.map((e, i) => (i === 0 && e.body ? { ...e, body: damage(e.body) } : e));
    expect(exchanges[0]!.body).toContain('content="http://[');
    expect(exchanges[0]!.body).toContain('content="https://[::1"');
    const found = await extract(c, exchanges);
    expect(problemOf(found, 0)).toBeNull();
    // The page's log-in wall and its preview text are still read: only the unusable URLs are dropped.
    expect(found?.visibility.state).toBe('login-wall');
    expect(found?.post?.text?.content).toContain('عودة التيار الكهربائي');
    expect(found?.post?.url).toBeNull();
    expect(found?.post?.media).toEqual([]);
    expect(found?.post?.sources.url).toBeUndefined();
  });
});
