/**
 * What a watch run's findings mean for people: each finding read back from the sealed captures on
 * both sides (old and new text as a word diff, media added or removed by the digest of the recorded
 * bytes; for a deletion, the last capture and what the observation capture showed). Read from the
 * store only, post.json checked against its manifest digest, so it can always be rebuilt.
 */
import type { Post, PostDocument } from '../schemas/post.js';
import type { ChangeMedia, ChangeSide, WatchChange, WatchFinding, WatchRun } from '../schemas/watch.js';
import { storeKeys, type EvidenceStore } from '../evidence/store.js';
import { isSkipped, readSealedPost } from './sealed-posts.js';
import { wordDiff } from './text-diff.js';

/** Visibility states that are the platform positively saying a post is gone. */
const GONE_STATES = new Set(['deleted', 'unavailable']);

function findPost(doc: PostDocument, postKey: string): Post | null {
  const key = postKey.toLowerCase();
  if (doc.post && doc.post.id.toLowerCase() === key) return doc.post;
  const listed = doc.replies.find((p) => p.id.toLowerCase() === key);
  // A single-post capture of the post's own URL: its post is the one, whatever id form it carries.
  return listed ?? doc.post ?? null;
}

function mediaOf(post: Post, artifacts: ReadonlyMap<string, { sha256: string }>): ChangeMedia[] {
  return post.media.map((m) => {
    const name = m.artifact ?? null;
    const digest = name ? (artifacts.get(name)?.sha256 ?? null) : null;
    return { type: m.type, digest, artifact: name, sourceUrl: m.sourceUrl };
  });
}

/** Same media: same recorded bytes; media without recorded bytes compare by URL (origin and path). */
function mediaKey(m: ChangeMedia): string {
  if (m.digest) return m.digest;
  try {
    const u = new URL(m.sourceUrl ?? '');
    return `url:${u.origin}${u.pathname}`;
  } catch {
    return `url:${m.sourceUrl ?? ''}`;
  }
}

const emptySide = (captureId: string, state: ChangeSide['state'], note: string | null): ChangeSide => ({
  captureId,
  state,
  observedAt: null,
  visibility: null,
  visibilityReason: null,
  signals: [],
  author: null,
  published: null,
  text: null,
  direction: null,
  language: null,
  media: [],
  note,
});

/** One side: the post `postKey` as capture `captureId` recorded it (or why it cannot be shown). */
export async function readSide(store: EvidenceStore, caseId: string, captureId: string, postKey: string): Promise<ChangeSide> {
  if (!(await store.stat(storeKeys.manifest(caseId, captureId)))) return emptySide(captureId, 'pending', 'not sealed yet');
  const r = await readSealedPost(store, caseId, captureId);
  if (isSkipped(r)) return emptySide(captureId, 'unreadable', r.reason);
  const doc = r.doc;
  const post = findPost(doc, postKey);
  const a = post?.author;
  return {
    captureId,
    state: 'sealed',
    observedAt: doc.observedAt,
    visibility: doc.visibility.state,
    visibilityReason: doc.visibility.reason,
    signals: doc.visibility.signals.map((s) => s.detail),
    author: a ? [a.displayName, a.handle ? `@${a.handle.replace(/^@/, '')}` : null].filter(Boolean).join(' ') || a.id : null,
    published: post?.published ? (post.published.utc ?? post.published.raw) : null,
    text: post?.text?.content ?? null,
    direction: post?.text?.direction ?? null,
    language: post?.text?.language ?? null,
    media: post ? mediaOf(post, r.artifacts) : [],
    note: post ? null : 'the capture holds no such post',
  };
}

/**
 * What changed between two sides of a finding: for an edit, the word diff and media added or
 * removed; for a deletion, whether the platform said the post is gone. Pure.
 */
export function compareSides(kind: WatchFinding['kind'], before: ChangeSide | null, after: ChangeSide | null): Pick<WatchChange, 'textDiff' | 'textDiffCoarse' | 'mediaAdded' | 'mediaRemoved' | 'gone'> {
  let textDiff: WatchChange['textDiff'] = null;
  let coarse = false;
  let mediaAdded: ChangeMedia[] = [];
  let mediaRemoved: ChangeMedia[] = [];
  if (kind === 'edited' && before?.state === 'sealed' && after?.state === 'sealed') {
    if (before.text !== null && after.text !== null) {
      const d = wordDiff(before.text, after.text);
      textDiff = d.parts;
      coarse = d.coarse;
    }
    const had = new Set(before.media.map(mediaKey));
    const has = new Set(after.media.map(mediaKey));
    mediaAdded = after.media.filter((m) => !had.has(mediaKey(m)));
    mediaRemoved = before.media.filter((m) => !has.has(mediaKey(m)));
  }
  let gone: WatchChange['gone'] = null;
  if (kind === 'deleted') {
    // Only the platform's own answer on the post's page says it is gone; a post that merely left a list is not.
    if (!after) gone = 'unconfirmed';
    else if (after.state === 'pending') gone = 'pending';
    else gone = after.state === 'sealed' && after.visibility !== null && GONE_STATES.has(after.visibility) && after.signals.length > 0 ? 'confirmed' : 'unconfirmed';
  }
  return { textDiff, textDiffCoarse: coarse, mediaAdded, mediaRemoved, gone };
}

/** One finding read back from both sides. */
export async function readChange(store: EvidenceStore, caseId: string, run: number, f: WatchFinding): Promise<WatchChange> {
  const before = f.previousCaptureId ? await readSide(store, caseId, f.previousCaptureId, f.postKey) : null;
  const after = f.captureId ? await readSide(store, caseId, f.captureId, f.postKey) : null;
  return { run, kind: f.kind, postKey: f.postKey, postUrl: f.postUrl, observedAt: f.observedAt, before, after, ...compareSides(f.kind, before, after) };
}

/** Every finding of a run read back (in the run's order). */
export async function readRunChanges(store: EvidenceStore, caseId: string, run: WatchRun): Promise<WatchChange[]> {
  const out: WatchChange[] = [];
  for (const f of run.findings) out.push(await readChange(store, caseId, run.run, f));
  return out;
}

/** Capture ids a list of changes read (for the custody record of the read). */
export function changeCaptureIds(changes: WatchChange[]): string[] {
  return [...new Set(changes.flatMap((c) => [c.before, c.after]).filter((s): s is ChangeSide => s !== null && s.state === 'sealed').map((s) => s.captureId))].sort();
}
