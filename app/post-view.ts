import { textDirection } from '../collectors/platform/text.js';
import type { CaptureManifest } from '../schemas/manifest.js';
import type { Artifact } from '../schemas/artifact.js';
import type { CaptureAnnotations } from '../schemas/annotation.js';
import type { Post, PostDocument, VisibilityState } from '../schemas/post.js';

/**
 * Content first, for a terminal: who said what, when, in its own direction, and what the platform
 * showed, worded for people. Pure functions over a manifest and its post.json.
 */

/** What the platform showed, in words (never "page failed: NOT_VISIBLE" beside "sealed"). */
export const VISIBILITY_WORDS: Record<VisibilityState, string> = {
  visible: 'visible',
  'login-wall': 'login wall',
  deleted: 'deleted by the platform',
  unavailable: 'not available (the platform gave no reason)',
  'age-gated': 'age gate',
  'region-gated': 'not shown in this region',
  'rate-limited': 'rate limited by the platform',
  'not-recognised': 'not recognised — review',
};

// Unicode isolates (UAX #9): the text keeps its own direction and does not reorder what is around it.
const LRI = '\u2066';
const RLI = '\u2067';
const FSI = '\u2068';
const PDI = '\u2069';

/** `text` isolated in its direction (first strong character when none is given). */
export function isolate(text: string, dir?: 'ltr' | 'rtl' | null): string {
  const d = dir ?? textDirection(text);
  return `${d === 'rtl' ? RLI : d === 'ltr' ? LRI : FSI}${text}${PDI}`;
}

/** First `lines` non-empty lines of `text`, each cut at `width` characters (code points). */
export function firstLines(text: string, lines = 3, width = 100): string[] {
  const all = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  const cut = all.slice(0, lines).map((l) => ([...l].length > width ? `${[...l].slice(0, width - 1).join('')}…` : l));
  if (all.length > lines && cut.length) cut[cut.length - 1] += ' …';
  return cut;
}

/** `Display Name (@handle)`, each part isolated so an Arabic name does not swallow the handle. */
export function authorLine(a: { displayName: string | null; handle: string | null } | null): string | null {
  if (!a || (!a.displayName && !a.handle)) return null;
  const name = a.displayName ? isolate(a.displayName) : null;
  const handle = a.handle ? `@${a.handle.replace(/^@/, '')}` : null;
  return name && handle ? `${name} (${isolate(handle, 'ltr')})` : (name ?? isolate(handle!, 'ltr'));
}

/** The published time: its UTC reading, and the platform's own string when it differs. */
export function publishedLine(post: Post): string | null {
  const p = post.published;
  if (!p) return null;
  if (!p.utc) return `"${p.raw}" (as the platform states it)`;
  return p.raw === p.utc ? p.utc : `${p.utc}  (platform: "${p.raw}")`;
}

/**
 * Language and direction of the post's text, never the page's: the language only when the platform
 * states it; the direction read from the text is said to be detected.
 */
export function textTag(post: Post): string | null {
  const t = post.text;
  if (!t) return null;
  const lang = t.language ? `lang=${t.language} (stated by the platform)` : 'lang not stated';
  const detected = textDirection(t.content);
  const dir = t.direction === null ? (detected ? `dir=${detected} (detected from the text)` : 'dir unknown') : t.direction === detected ? `dir=${t.direction} (detected from the text)` : `dir=${t.direction} (stated by the platform)`;
  return `[${lang}, ${dir}]`;
}

/** The posts a capture holds: the post, or every post of a list capture (channel page, timeline). */
export function postsOf(doc: PostDocument): { post: Post | null; listed: Post[] } {
  return doc.post ? { post: doc.post, listed: [] } : { post: null, listed: doc.replies };
}

/** A post in a few words, for lists (and `list --json`). */
export interface PostBrief {
  id: string;
  author: { displayName: string | null; handle: string | null } | null;
  /** UTC reading of the platform's published time, else its own string. */
  published: string | null;
  /** First lines of the text, joined. */
  text: string | null;
  direction: 'ltr' | 'rtl' | null;
}

export function briefOf(p: Post): PostBrief {
  return {
    id: p.id,
    author: p.author ? { displayName: p.author.displayName, handle: p.author.handle } : null,
    published: p.published?.utc ?? p.published?.raw ?? null,
    text: p.text ? firstLines(p.text.content, 2).join(' ') || null : null,
    direction: p.text?.direction ?? null,
  };
}

/** One line per post for lists: author, published time, first line of text. */
export function postSummary(b: PostBrief, width = 80): string {
  const who = authorLine(b.author) ?? 'author unknown';
  const text = b.text ? isolate(firstLines(b.text, 1, width)[0] ?? '', b.direction) : '(no text)';
  return `${who}  ${b.published ?? 'time not stated'}  ${text}`;
}

/** What the capture shows, in words: the platform's visibility when there is a post.json, else the page outcome. */
export function outcomeWords(m: CaptureManifest, doc: PostDocument | null): string {
  if (doc) return VISIBILITY_WORDS[doc.visibility.state];
  if (m.status === 'captured') return 'page captured';
  return `page not captured${m.failure ? ` (${m.failure.message})` : ''}`;
}

/** Originals first (what was served), then what Exhibit derived from them; the manifest order within each. */
export function originalsFirst<A extends Pick<Artifact, 'derivedFrom'>>(artifacts: readonly A[]): A[] {
  return [...artifacts.filter((a) => !a.derivedFrom), ...artifacts.filter((a) => a.derivedFrom)];
}

/** Lines for a capture's tags and notes (also used by `exhibit show`). */
export function annotationLines(a: CaptureAnnotations, indent = '  '): string[] {
  const rows: string[] = [];
  rows.push(`${indent}Tags         ${a.tags.length ? a.tags.map((x) => isolate(x.tag)).join(', ') : '—'}   (analyst annotations, not evidence)`);
  for (const x of a.tags) rows.push(`${indent}             ${isolate(x.tag)}: added by ${x.by.id} at ${x.at} (custody event ${x.seq})`);
  for (const n of a.notes) {
    rows.push(`${indent}Note         by ${n.by.id} at ${n.at} (custody event ${n.seq})`);
    for (const l of n.note.split(/\r?\n/).slice(0, 20)) rows.push(`${indent}             ${isolate(l)}`);
  }
  return rows;
}

/** A capture's content for lists (the web case list): the post, or the list page and its first post. */
export function contentSummary(doc: PostDocument): { authorName: string | null; authorHandle: string | null; text: string | null; direction: 'ltr' | 'rtl' | null; language: string | null; published: string | null; visibility: VisibilityState; visibilityWords: string; listed: number } {
  const { post, listed } = postsOf(doc);
  const shown = post ?? listed[0] ?? null;
  const who = post?.author ?? doc.profile ?? shown?.author ?? null;
  return {
    authorName: who?.displayName ?? null,
    authorHandle: who?.handle ?? null,
    text: shown?.text ? firstLines(shown.text.content, 3, 200).join('\n') || null : null,
    direction: shown?.text?.direction ?? null,
    language: shown?.text?.language ?? null,
    published: shown?.published?.utc ?? shown?.published?.raw ?? null,
    visibility: doc.visibility.state,
    visibilityWords: VISIBILITY_WORDS[doc.visibility.state],
    listed: listed.length,
  };
}
