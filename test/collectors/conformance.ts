import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { expect } from 'vitest';
import type { CollectorOutput } from '../../schemas/jobs.js';
import { NOT_SHOWN_STATES, PostDocument, VisibilityState } from '../../schemas/post.js';
import { z } from 'zod';

/**
 * The platform collector conformance suite's checks (vitest helpers). Each fixture holds a
 * `cases.json` of ground truth written by hand beside the fixture; these helpers compare a
 * collector's output with it. Digests are computed with `sha256sum`, a tool we did not write.
 */

/** One case of a fixture's cases.json. `{{origin}}` in any string stands for the running fixture, `{{host}}` for its host[:port]. */
export const ConformanceCase = z.object({
  name: z.string(),
  /** Path (and query) on the fixture origin. */
  path: z.string(),
  visibility: VisibilityState.nullable(),
  /** Expected CollectorOutput status (`failed` for every state but visible). */
  status: z.enum(['captured', 'failed']),
  /** Partial Post matched with toMatchObject; null when post.json must hold no post. */
  post: z.record(z.string(), z.unknown()).nullable().optional(),
  /** Media of the post, in order: the fixture file the artifact must equal, byte for byte. */
  media: z.array(z.object({ type: z.string(), file: z.string().nullable(), sha256: z.string().nullable(), assembled: z.boolean().optional(), flag: z.string().optional() })).optional(),
  replies: z.object({ count: z.number().int(), items: z.array(z.record(z.string(), z.unknown())).optional() }).optional(),
  proof: z.record(z.string(), z.unknown()).nullable().optional(),
  /** Partial profile (channel or account page) matched with toMatchObject. */
  profile: z.record(z.string(), z.unknown()).optional(),
  /** True when no post.json may be written (generic fallback on a page without metadata). */
  noPostJson: z.boolean().optional(),
  /**
   * The page holds the post in a layout the collector does not know (its og: tags and text, none
   * of the markup or JSON the collector expects): checked with {@link checkUnknownLayout}.
   */
  unknownLayout: z.boolean().optional(),
});
export type ConformanceCase = z.infer<typeof ConformanceCase>;

export function loadCases(fixtureDir: string, origin: string): ConformanceCase[] {
  const text = readFileSync(path.join(fixtureDir, 'cases.json'), 'utf8').replaceAll('{{origin}}', origin).replaceAll('{{host}}', new URL(origin).host);
  return z.object({ cases: z.array(ConformanceCase) }).parse(JSON.parse(text)).cases;
}

export const sha256sum = (file: string): string => `sha256:${execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(' ')[0]!}`;

/** Read and validate post.json from a spool dir; fails the test when absent or invalid. */
export function readPostJson(spoolDir: string, out: CollectorOutput): PostDocument {
  const listed = out.files.find((f) => f.role === 'post');
  expect(listed, 'post.json is listed with role post').toBeDefined();
  expect(listed!.path).toBe('post.json');
  return PostDocument.parse(JSON.parse(readFileSync(path.join(spoolDir, 'post.json'), 'utf8')));
}

/** Sources the generic extraction records (the platform's own `api-json`/`embedded-json` are not among them). */
const GENERIC_SOURCES = ['opengraph', 'json-ld', 'oembed', 'dom'];

/**
 * The visibility rule, for every collector: a page that holds the post in an unknown layout is
 * never reported as not shown (`unavailable`, `deleted`, `login-wall`, …). It is `not-recognised`,
 * captured (not failed), its post read by the generic extraction with a source for every field,
 * and flagged for review in post.json and on the post.json artifact (so in the sealed manifest).
 */
export function checkUnknownLayout(name: string, doc: PostDocument, out: CollectorOutput): void {
  expect(NOT_SHOWN_STATES as readonly string[], `${name}: an unknown layout is never a statement that the platform did not show the post`).not.toContain(doc.visibility.state);
  expect(doc.visibility.state, `${name}: visibility`).toBe('not-recognised');
  expect(out.status, `${name}: captured, not failed`).toBe('captured');
  expect(out.failure?.code).not.toBe('NOT_VISIBLE');
  expect(doc.review.map((r) => r.code), `${name}: review flag in post.json`).toContain('not-recognised');
  const listed = out.files.find((f) => f.role === 'post')!;
  expect(listed.flags.map((f) => f.code), `${name}: review flag on the post.json artifact`).toContain('needs-review');
  const p = doc.post;
  expect(p, `${name}: the generic extraction filled the post`).not.toBeNull();
  expect(p!.text?.content, `${name}: the post text`).toBeTruthy();
  for (const [field, source] of Object.entries(p!.sources)) expect(GENERIC_SOURCES, `${name}: ${field} read by the generic extraction`).toContain(source);
  expect(p!.sources.text, `${name}: text names its source`).toBeDefined();
  if (p!.media.length) expect(p!.sources.media).toBeDefined();
}

/** Every check of one case against one capture. */
export function checkCase(c: ConformanceCase, fixtureDir: string, spoolDir: string, out: CollectorOutput): PostDocument | null {
  expect(out.status, `${c.name}: status`).toBe(c.status);
  if (c.status === 'failed' && c.visibility && c.visibility !== 'visible') {
    expect(out.failure?.code, `${c.name}: failure code`).toBe('NOT_VISIBLE');
    expect(out.failure?.message).toContain(`(${c.visibility})`);
    expect(out.failure?.kind).toBe(c.visibility === 'rate-limited' ? 'transient' : 'permanent');
  }
  if (c.noPostJson) {
    expect(out.files.some((f) => f.role === 'post'), `${c.name}: no post.json`).toBe(false);
    expect(existsSync(path.join(spoolDir, 'post.json'))).toBe(false);
    return null;
  }
  const doc = readPostJson(spoolDir, out);
  if (c.unknownLayout) checkUnknownLayout(c.name, doc, out);
  expect(doc.visibility.state, `${c.name}: visibility`).toBe(c.visibility);
  // Only a page the collector did not recognise asks for review.
  if (doc.visibility.state !== 'not-recognised') expect(doc.review, `${c.name}: no review flag`).toEqual([]);
  expect(doc.visibility.signals.length, `${c.name}: the state names its evidence`).toBeGreaterThan(0);
  if (c.post === null) expect(doc.post).toBeNull();
  else if (c.post) {
    expect(doc.post, `${c.name}: post`).not.toBeNull();
    expect(doc.post).toMatchObject(c.post);
    // Every non-empty field names its source.
    const p = doc.post!;
    if (p.text) expect(p.sources.text).toBeDefined();
    if (p.author) expect(p.sources.author).toBeDefined();
    if (p.published) expect(p.sources.published).toBeDefined();
    if (p.media.length) expect(p.sources.media).toBeDefined();
  }
  for (const [i, m] of (c.media ?? []).entries()) {
    const got = doc.post!.media[i];
    expect(got, `${c.name}: media ${i}`).toBeDefined();
    expect(got!.type).toBe(m.type);
    if (m.flag) expect(got!.flags.map((f) => f.code)).toContain(m.flag);
    if (m.file === null) {
      expect(got!.artifact).toBeNull();
      continue;
    }
    expect(got!.artifact, `${c.name}: media ${i} has an artifact`).not.toBeNull();
    const listed = out.files.find((f) => f.path === got!.artifact);
    expect(listed, `${c.name}: media ${i} artifact is listed`).toBeDefined();
    const served = sha256sum(path.join(fixtureDir, m.file));
    expect(served, `${c.name}: cases.json digest of ${m.file} is the file's`).toBe(m.sha256);
    expect(sha256sum(path.join(spoolDir, got!.artifact!)), `${c.name}: media ${i} is byte-identical to ${m.file}`).toBe(served);
    if (m.assembled) {
      expect(got!.assembledArtifact, `${c.name}: media ${i} assembled`).not.toBeNull();
      const mp4 = out.files.find((f) => f.path === got!.assembledArtifact);
      expect(mp4?.derivedFrom?.method).toBe('hls-assemble');
      expect(mp4?.flags.map((f) => f.code)).toContain('ASSEMBLED');
    }
  }
  if (c.replies) {
    expect(doc.replies.length, `${c.name}: replies`).toBe(c.replies.count);
    for (const [i, r] of (c.replies.items ?? []).entries()) expect(doc.replies[i]).toMatchObject(r);
  }
  if (c.profile) {
    expect(doc.profile, `${c.name}: profile`).toBeTruthy();
    expect(doc.profile).toMatchObject(c.profile);
  }
  if (c.proof !== undefined) {
    if (c.proof === null) expect(doc.proof).toBeNull();
    else expect(doc.proof).toMatchObject(c.proof);
  }
  return doc;
}
