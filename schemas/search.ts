import { z } from 'zod';
import { CaseId, IsoUtc, Uuid } from './common.js';

/** Full-text search over sealed captures (analysis/search-index.ts): the API's query and answer, and `exhibit search --json`. */

/** One hit: the capture (and post) it links to, and what it shows exactly as recorded. */
export const SearchHit = z.object({
  caseId: CaseId,
  captureId: Uuid,
  /** `post`: a post of the capture's post.json; `capture`: the capture itself (page title, URLs, profile, tags, notes). */
  kind: z.enum(['post', 'capture']),
  postId: z.string().nullable(),
  platform: z.string(),
  author: z.object({ displayName: z.string().nullable(), handle: z.string().nullable() }).nullable(),
  /** The start of the post's text as recorded (never folded). */
  excerpt: z.string().nullable(),
  direction: z.enum(['ltr', 'rtl']).nullable(),
  title: z.string().nullable(),
  url: z.string(),
  /** The platform's published time (its UTC reading, else its own words). */
  published: z.string().nullable(),
  capturedAt: IsoUtc,
  tags: z.array(z.string()),
  /** Fields the query matched in: text, authorName, authorHandle, hashtags, mentions, urls, title, tags, notes. */
  matchedIn: z.array(z.string()),
  score: z.number(),
  /** Documents of the capture that matched (a channel capture holds many posts); the hit shows the best. */
  documentsMatched: z.number().int().positive(),
});
export type SearchHit = z.infer<typeof SearchHit>;

export const SearchSkipped = z.object({ caseId: CaseId, captureId: Uuid, reason: z.string() });
export type SearchSkipped = z.infer<typeof SearchSkipped>;

export const SearchQuery = z.object({
  /** At most 200 characters and 16 words (checked again after folding). */
  q: z.string().min(1).max(200),
  /** Only this case (default: every case the reader is a member of). */
  case: CaseId.optional(),
  /** Only captures with this tag. */
  tag: z.string().min(1).max(64).optional(),
  limit: z.coerce.number().int().min(1).max(200).optional(),
});

export const SearchResponse = z.object({
  query: z.string(),
  /** The folding applied to the query and the index (matching only; values are shown as recorded). */
  normalisation: z.string(),
  cases: z.array(CaseId),
  /** Captures that matched (one hit each), before the limit. */
  total: z.number().int().nonnegative(),
  hits: z.array(SearchHit),
  /** Sealed captures of these cases that could not be indexed, with the reason (e.g. post.json not matching its digest). */
  skipped: z.array(SearchSkipped),
});
export type SearchResponse = z.infer<typeof SearchResponse>;
