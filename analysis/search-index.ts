/**
 * Full-text search over sealed captures, with MiniSearch as the embedded engine.
 *
 * The index is derived, never authoritative: every document in it is read from a sealed capture
 * (its signed manifest and its post.json, whose bytes are checked against the manifest digest
 * before they are believed) or from the case's custody log (tags and notes). It can be thrown away
 * and rebuilt from the store at any time (`exhibit search --rebuild`), and it catches up by itself
 * before each search: captures sealed since the last search (by any worker, on any host) and custody
 * events after the last one read are added then, so no seal worker needs to know about it.
 *
 * What is indexed, per capture: one document per post in post.json (the post, the listed posts of
 * a channel or timeline, the replies, the quoted post) — text, author name and handle, hashtags,
 * mentions, links, post URL — and one for the capture itself — page title, requested and final URL,
 * the channel or profile it shows — and, for an annotated capture, one holding the analysts' tags
 * and notes (replaced when they change). Only short excerpts are stored in the index, never the
 * full text: it is rebuilt from the store when needed.
 *
 * Matching folds text (lib/text-fold.ts `SEARCH_NORMALISATION`): what was recorded is stored and
 * shown exactly as it was; only the keys the engine compares are folded.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import MiniSearch, { type SearchResult } from 'minisearch';
import { mapLimit } from '../lib/concurrency.js';
import { IntegrityError, PermanentError } from '../lib/errors.js';
import { foldForSearch, SEARCH_NORMALISATION, withoutArticle } from '../lib/text-fold.js';
import type { CustodyEvent } from '../schemas/custody.js';
import { StoredCaptureManifest } from '../schemas/manifest.js';
import type { Post, PostDocument } from '../schemas/post.js';
import type { SearchHit, SearchSkipped } from '../schemas/search.js';
import { annotationsOf, ANNOTATION_ACTIONS, tagKey } from '../evidence/annotations.js';
import { storedEventsAfter } from '../evidence/custody.js';
import { storeKeys, type EvidenceStore } from '../evidence/store.js';
import { isSkipped, readSealedPost, sealedCaptureIds } from './sealed-posts.js';

/** Longest query accepted, in characters (before folding). */
export const MAX_QUERY_CHARS = 200;
/** Most words in one query. */
export const MAX_QUERY_TERMS = 16;
export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 200;
/** Characters of text kept in the index to show with a hit (the full text is indexed, not stored). */
const EXCERPT_CHARS = 280;
const INDEX_VERSION = 'exhibit.search-index/2';
const SPLIT = /[\n\r\p{Z}\p{P}]+/u;

const FIELDS = ['text', 'authorName', 'authorHandle', 'hashtags', 'mentions', 'urls', 'title', 'tags', 'notes'] as const;
const STORED = ['caseId', 'captureId', 'kind', 'postId', 'platform', 'authorName', 'authorHandle', 'excerpt', 'direction', 'title', 'url', 'published', 'capturedAt'] as const;

export interface IndexedDoc {
  id: string;
  caseId: string;
  captureId: string;
  kind: 'post' | 'capture';
  postId: string | null;
  platform: string;
  authorName: string | null;
  authorHandle: string | null;
  text: string;
  excerpt: string | null;
  direction: 'ltr' | 'rtl' | null;
  hashtags: string;
  mentions: string;
  urls: string;
  title: string | null;
  url: string;
  published: string | null;
  capturedAt: string;
  tags: string[];
  notes: string;
}

/** A capture that could not be indexed, and why (never silently left out). */
export type SkippedCapture = SearchSkipped;

interface CaptureEntry {
  caseId: string;
  captureId: string;
  docIds: string[];
  /** What the capture's annotation document shows besides its tags and notes. */
  meta: Pick<IndexedDoc, 'platform' | 'title' | 'url' | 'capturedAt'>;
  /** Current tags, as first typed. */
  tags: string[];
}

interface CaseState {
  /** Last custody event sequence number read. */
  seq: number;
  /** The case's annotation events so far (small: tags and notes only). */
  annotationEvents: CustodyEvent[];
}

interface SavedIndex {
  schemaVersion: typeof INDEX_VERSION;
  normalisation: string;
  store: string;
  captures: CaptureEntry[];
  cases: Record<string, CaseState>;
  skipped: SkippedCapture[];
  index: unknown;
}

/** Words of a text, folded; an Arabic word with the article is indexed both with and without it. */
const words = (text: string) => foldForSearch(text).split(SPLIT).filter(Boolean);
const indexTokens = (text: string) => words(text).flatMap((w) => {
  const bare = withoutArticle(w);
  return bare ? [w, bare] : [w];
});
const tokenize = words;
const engineOptions = {
  fields: [...FIELDS],
  storeFields: [...STORED],
  tokenize: indexTokens,
  processTerm: (term: string) => term || null,
  // Stored fields keep their values (tags stay a list); indexed text joins a list with spaces.
  stringifyField: (v: unknown) => (Array.isArray(v) ? v.join(' ') : typeof v === 'string' ? v : ''),
};

const excerpt = (s: string | null | undefined) => (s ? (s.length > EXCERPT_CHARS ? `${s.slice(0, EXCERPT_CHARS)}…` : s) : null);

function postDoc(caseId: string, captureId: string, platform: string, capturedAt: string, p: Post, n: number): IndexedDoc {
  return {
    id: `${caseId}/${captureId}/p${n}`,
    caseId, captureId, kind: 'post', postId: p.id, platform, capturedAt,
    authorName: p.author?.displayName ?? null,
    authorHandle: p.author?.handle ?? null,
    text: [p.text?.content ?? '', p.contentWarning?.summary ?? '', ...p.media.map((m) => m.alt ?? ''), ...(p.poll?.options.map((o) => o.title) ?? [])].join('\n'),
    excerpt: excerpt(p.text?.content),
    direction: p.text?.direction ?? null,
    hashtags: p.hashtags.join(' '),
    mentions: p.mentions.map((m) => m.handle).join(' '),
    urls: [p.url ?? '', ...p.links].join(' '),
    title: null,
    url: p.url ?? '',
    published: p.published?.utc ?? p.published?.raw ?? null,
    tags: [], notes: '',
  };
}

/** What a capture's documents are made of: facts of its signed manifest and its post.json (null for a web page). */
export interface CaptureFacts {
  caseId: string;
  captureId: string;
  capturedAt: string;
  collectorId: string;
  requestUrl: string;
  finalUrl: string | null;
  canonicalUrl: string | null;
  title: string | null;
  post: PostDocument | null;
}

/** The index documents of one capture (without annotations). */
export function captureDocuments(f: CaptureFacts): IndexedDoc[] {
  const { caseId, captureId, capturedAt, post: doc } = f;
  const platform = doc?.platform ?? f.collectorId;
  const prof = doc?.profile ?? null;
  const docs: IndexedDoc[] = [
    {
      id: `${caseId}/${captureId}/c`,
      caseId, captureId, kind: 'capture', postId: null, platform, capturedAt,
      authorName: prof?.displayName ?? null,
      authorHandle: prof?.handle ?? null,
      text: prof?.description ?? '',
      excerpt: excerpt(prof?.description),
      direction: null,
      hashtags: '', mentions: '',
      urls: [f.requestUrl, f.finalUrl ?? '', f.canonicalUrl ?? '', doc?.pageUrl ?? ''].join(' '),
      title: f.title,
      url: f.requestUrl,
      published: null,
      tags: [], notes: '',
    },
  ];
  const posts = doc ? [doc.post, doc.quoted, ...doc.replies].filter((p): p is Post => p !== null) : [];
  posts.forEach((p, i) => docs.push(postDoc(caseId, captureId, platform, capturedAt, p, i)));
  return docs;
}

/** Read one sealed capture's facts from the store (post.json checked against its sealed digest). */
async function documentsOf(store: EvidenceStore, caseId: string, captureId: string): Promise<IndexedDoc[] | SkippedCapture> {
  const m = StoredCaptureManifest.parse(JSON.parse((await store.getBytes(storeKeys.manifest(caseId, captureId))).toString('utf8')));
  const sealed = await readSealedPost(store, caseId, captureId);
  if (isSkipped(sealed) && m.artifacts.some((a) => a.role === 'post')) return { caseId, captureId, reason: sealed.reason };
  return captureDocuments({
    caseId, captureId, capturedAt: m.environment.startedAt, collectorId: m.environment.collector.id,
    requestUrl: m.request.url, finalUrl: m.page.finalUrl, canonicalUrl: m.page.canonicalUrl, title: m.page.title,
    post: isSkipped(sealed) ? null : sealed.doc,
  });
}

export interface SearchOptions {
  /** Only these cases (the caller decides which the reader may read). */
  caseIds: string[];
  limit?: number;
  /** Only captures carrying this tag (folded comparison). */
  tag?: string;
}

/** The search index of one deployment, kept in `dir` (null: in memory only). */
export class SearchIndex {
  private engine = new MiniSearch<IndexedDoc>(engineOptions);
  private captures = new Map<string, CaptureEntry>();
  private cases = new Map<string, CaseState>();
  private skipped = new Map<string, SkippedCapture>();
  private queue: Promise<unknown> = Promise.resolve();
  private dirty = false;

  private constructor(
    private readonly dir: string | null,
    private readonly storeLocation: string,
  ) {}

  /** Open the index saved in `dir` for this store; a missing, unreadable or outdated file starts an empty one (it is rebuilt from the store). */
  static async open(dir: string | null, storeLocation: string): Promise<SearchIndex> {
    const idx = new SearchIndex(dir, storeLocation);
    if (!dir) return idx;
    const saved = await readFile(path.join(dir, 'index.json'), 'utf8').then((t) => JSON.parse(t) as SavedIndex).catch(() => null);
    if (saved && saved.schemaVersion === INDEX_VERSION && saved.normalisation === SEARCH_NORMALISATION && saved.store === storeLocation) {
      try {
        idx.engine = MiniSearch.loadJSON<IndexedDoc>(JSON.stringify(saved.index), engineOptions);
        for (const c of saved.captures) idx.captures.set(`${c.caseId}/${c.captureId}`, c);
        for (const [k, v] of Object.entries(saved.cases)) idx.cases.set(k, v);
        for (const s of saved.skipped) idx.skipped.set(`${s.caseId}/${s.captureId}`, s);
      } catch {
        return new SearchIndex(dir, storeLocation);
      }
    }
    return idx;
  }

  /** One refresh or rebuild at a time (searches from several requests share the index). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Throw everything away and index the cases again from the store. */
  rebuild(store: EvidenceStore, caseIds: string[]): Promise<{ captures: number; documents: number; skipped: SkippedCapture[] }> {
    return this.serial(async () => {
      this.engine = new MiniSearch<IndexedDoc>(engineOptions);
      this.captures.clear();
      this.cases.clear();
      this.skipped.clear();
      this.dirty = true;
      await this.catchUp(store, caseIds);
      await this.saveNow();
      return { captures: this.captures.size, documents: this.engine.documentCount, skipped: [...this.skipped.values()] };
    });
  }

  /** Add what was sealed and annotated since the last refresh of these cases; saves when something changed. */
  refresh(store: EvidenceStore, caseIds: string[]): Promise<{ added: number; skipped: SkippedCapture[] }> {
    return this.serial(async () => {
      const added = await this.catchUp(store, caseIds);
      if (this.dirty) await this.saveNow();
      return { added, skipped: [...this.skipped.values()].filter((s) => caseIds.includes(s.caseId)) };
    });
  }

  private async catchUp(store: EvidenceStore, caseIds: string[]): Promise<number> {
    let added = 0;
    for (const caseId of caseIds) {
      const ids = (await sealedCaptureIds(store, caseId)).filter((id) => !this.captures.has(`${caseId}/${id}`) && !this.skipped.has(`${caseId}/${id}`));
      const results = await mapLimit(ids, 8, async (id) => {
        try {
          return await documentsOf(store, caseId, id);
        } catch (err) {
          // A capture whose post.json does not match its sealed digest is named, not indexed and not hidden.
          if (err instanceof IntegrityError || err instanceof SyntaxError) return { caseId, captureId: id, reason: `${err instanceof IntegrityError ? err.code : 'INVALID_JSON'}: ${err.message}` };
          throw err;
        }
      });
      results.forEach((r, i) => {
        const captureId = ids[i]!;
        if (!Array.isArray(r)) {
          this.skipped.set(`${caseId}/${captureId}`, r);
          this.dirty = true;
          return;
        }
        this.addCapture(r);
        added++;
      });
      const state = this.cases.get(caseId) ?? { seq: 0, annotationEvents: [] };
      const fresh = await storedEventsAfter(store, caseId, state.seq);
      const notes = fresh.filter((e) => (ANNOTATION_ACTIONS as readonly string[]).includes(e.action));
      state.seq = fresh.reduce((m, e) => Math.max(m, e.seq), state.seq);
      state.annotationEvents.push(...notes);
      this.cases.set(caseId, state);
      if (fresh.length) this.dirty = true;
      // New captures start without annotations: apply the case's to them and to every capture a new event names.
      const touched = new Set([...notes.map((e) => e.subject.captureId!), ...ids]);
      if (touched.size) this.applyAnnotations(caseId, state, touched);
    }
    return added;
  }

  /** Index one capture's documents (from {@link captureDocuments}); a capture already indexed is left as it is. */
  addCapture(docs: IndexedDoc[]): void {
    const first = docs[0];
    if (!first || this.captures.has(`${first.caseId}/${first.captureId}`)) return;
    this.engine.addAll(docs);
    const meta = { platform: first.platform, title: first.title, url: first.url, capturedAt: first.capturedAt };
    this.captures.set(`${first.caseId}/${first.captureId}`, { caseId: first.caseId, captureId: first.captureId, docIds: docs.map((d) => d.id), meta, tags: [] });
    this.dirty = true;
  }

  /** Apply annotation events (in log order) of a case to its indexed captures. */
  annotate(caseId: string, events: CustodyEvent[]): void {
    const state = this.cases.get(caseId) ?? { seq: 0, annotationEvents: [] };
    const notes = events.filter((e) => (ANNOTATION_ACTIONS as readonly string[]).includes(e.action));
    state.annotationEvents.push(...notes);
    state.seq = events.reduce((m, e) => Math.max(m, e.seq), state.seq);
    this.cases.set(caseId, state);
    this.applyAnnotations(caseId, state, new Set(notes.map((e) => e.subject.captureId!)));
  }

  private applyAnnotations(caseId: string, state: CaseState, captureIds: Set<string>): void {
    const all = annotationsOf(state.annotationEvents);
    for (const captureId of captureIds) {
      const entry = this.captures.get(`${caseId}/${captureId}`);
      const a = all.get(captureId);
      if (!entry || !a) continue;
      entry.tags = a.tags.map((x) => x.tag);
      const doc: IndexedDoc = {
        id: `${caseId}/${captureId}/a`,
        caseId, captureId, kind: 'capture', postId: null, ...entry.meta,
        authorName: null, authorHandle: null, text: '', excerpt: null, direction: null, hashtags: '', mentions: '', urls: '', published: null,
        tags: entry.tags,
        notes: a.notes.map((n) => n.note).join('\n'),
      };
      if (this.engine.has(doc.id)) this.engine.replace(doc);
      else this.engine.add(doc);
    }
  }

  /** Search the given cases. The query is folded like the index; every word must match (the last may be the start of a word). */
  search(query: string, opts: SearchOptions): { hits: SearchHit[]; total: number } {
    const terms = checkQuery(query);
    const allowed = new Set(opts.caseIds);
    const limit = Math.min(Math.max(1, opts.limit ?? DEFAULT_LIMIT), MAX_LIMIT);
    const tag = opts.tag === undefined ? null : tagKey(opts.tag);
    // Every word must match, as typed or without the Arabic article (the index holds both forms);
    // the last word may be the start of a word. Words are already folded: split them only.
    const tree = {
      combineWith: 'AND' as const,
      queries: terms.map((w, i) => ({ combineWith: 'OR' as const, prefix: i === terms.length - 1 && w.length >= 2, queries: [...new Set([w, withoutArticle(w) ?? w])] })),
    };
    const results = this.engine.search(tree, {
      tokenize: (q: string) => [q],
      fuzzy: false,
      boost: { authorHandle: 2, authorName: 2, hashtags: 1.5, title: 1.2 },
      filter: (r) => allowed.has(r.caseId as string) && (tag === null || this.tagsOf(r.caseId as string, r.captureId as string).some((t) => tagKey(t) === tag)),
    });
    // One hit per capture (results link to captures): its best-scoring document, and how many matched.
    const byCapture = new Map<string, { best: SearchResult; documents: number }>();
    for (const r of results) {
      const k = `${r.caseId as string}/${r.captureId as string}`;
      const cur = byCapture.get(k);
      if (cur) cur.documents++;
      else byCapture.set(k, { best: r, documents: 1 });
    }
    const grouped = [...byCapture.values()];
    return { hits: grouped.slice(0, limit).map((g) => ({ ...toHit(g.best), tags: this.tagsOf(g.best.caseId as string, g.best.captureId as string), documentsMatched: g.documents })), total: grouped.length };
  }

  private tagsOf(caseId: string, captureId: string): string[] {
    return this.captures.get(`${caseId}/${captureId}`)?.tags ?? [];
  }

  get size(): { captures: number; documents: number } {
    return { captures: this.captures.size, documents: this.engine.documentCount };
  }

  private async saveNow(): Promise<void> {
    this.dirty = false;
    if (!this.dir) return;
    const saved: SavedIndex = {
      schemaVersion: INDEX_VERSION,
      normalisation: SEARCH_NORMALISATION,
      store: this.storeLocation,
      captures: [...this.captures.values()],
      cases: Object.fromEntries(this.cases),
      skipped: [...this.skipped.values()],
      index: this.engine.toJSON(),
    };
    await mkdir(this.dir, { recursive: true });
    // Written whole, then renamed: a reader never sees half an index.
    const tmp = path.join(this.dir, `index.json.${process.pid}.${randomUUID()}.tmp`);
    try {
      await writeFile(tmp, JSON.stringify(saved));
      await rename(tmp, path.join(this.dir, 'index.json'));
    } finally {
      await rm(tmp, { force: true });
    }
  }
}

/** The words of a query, checked: not empty after folding, at most {@link MAX_QUERY_CHARS} characters and {@link MAX_QUERY_TERMS} words. */
export function checkQuery(query: string): string[] {
  if (query.length > MAX_QUERY_CHARS) throw new PermanentError('INVALID_INPUT', `query is ${query.length} characters; at most ${MAX_QUERY_CHARS}`);
  const terms = tokenize(query);
  if (terms.length === 0) throw new PermanentError('INVALID_INPUT', 'query has no words to search for');
  if (terms.length > MAX_QUERY_TERMS) throw new PermanentError('INVALID_INPUT', `query has ${terms.length} words; at most ${MAX_QUERY_TERMS}`);
  return terms;
}

function toHit(r: SearchResult): Omit<SearchHit, 'documentsMatched' | 'tags'> {
  const authorName = (r.authorName as string | null) ?? null;
  const authorHandle = (r.authorHandle as string | null) ?? null;
  return {
    caseId: r.caseId as string,
    captureId: r.captureId as string,
    kind: r.kind as 'post' | 'capture',
    postId: (r.postId as string | null) ?? null,
    platform: r.platform as string,
    author: authorName || authorHandle ? { displayName: authorName, handle: authorHandle } : null,
    excerpt: (r.excerpt as string | null) ?? null,
    direction: (r.direction as 'ltr' | 'rtl' | null) ?? null,
    title: (r.title as string | null) ?? null,
    url: r.url as string,
    published: (r.published as string | null) ?? null,
    capturedAt: r.capturedAt as string,
    matchedIn: [...new Set(Object.values(r.match).flat())].sort(),
    score: Math.round(r.score * 1000) / 1000,
  };
}
