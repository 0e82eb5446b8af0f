import path from 'node:path';
import { z } from 'zod';
import { PermanentError } from '../../../lib/errors.js';
import { SEARCH_NORMALISATION } from '../../../lib/text-fold.js';
import { CaptureAnnotations, NoteRequest, TagRequest } from '../../../schemas/annotation.js';
import { SearchQuery, SearchResponse } from '../../../schemas/search.js';
import { sha256Digest } from '../../../evidence/canonical.js';
import { addNote, captureAnnotations, changeTag } from '../../../evidence/annotations.js';
import { SearchIndex } from '../../../analysis/search-index.js';
import { actorOf } from '../actor.js';
import { currentUser, requireCase } from '../auth.js';
import type { ApiDeps } from '../context.js';
import { loadManifest, recordRead } from '../evidence-reads.js';
import type { RouteTable } from '../route-table.js';

const AnnotationChange = z.object({
  /** False when nothing changed (the tag was already there, or already gone): nothing was appended. */
  recorded: z.boolean(),
  /** The custody event that records the change. */
  seq: z.number().int().positive().nullable(),
  annotations: CaptureAnnotations,
});

/** Full-text search across the reader's cases, and analysts' tags and notes on captures. */
export function searchRoutes(t: RouteTable, d: ApiDeps): void {
  const s = d.services;
  let opened: Promise<SearchIndex> | null = null;
  const index = () => (opened ??= SearchIndex.open(path.join(s.config.stateDir, 'search'), s.store.location));
  const params = (c: { req: { param(n: string): string | undefined } }) => ({ caseId: c.req.param('caseId') ?? '', captureId: c.req.param('captureId') ?? '' });

  t.def(
    { method: 'get', path: '/api/search', summary: 'Full-text search of sealed captures in your cases (each case with hits records a custody event naming the query and the captures shown)', tag: 'search', access: 'read-evidence', query: SearchQuery, response: SearchResponse, errors: [404] },
    async (c, { query }) => {
      const user = currentUser(c);
      if (query.case) requireCase(c, 'read-evidence', query.case);
      const cases = query.case ? [query.case] : [...user.cases];
      const idx = await index();
      const { skipped } = await idx.refresh(s.store, cases);
      const { hits, total } = idx.search(query.q, { caseIds: cases, limit: query.limit, tag: query.tag });
      // Hits show recorded content: a read of each case they come from, on its log before the answer leaves.
      const byCase = new Map<string, string[]>();
      for (const h of hits) byCase.set(h.caseId, [...(byCase.get(h.caseId) ?? []), h.captureId]);
      for (const [caseId, captureIds] of byCase) await recordRead(s, user, caseId, 'viewed', {}, { view: 'search', query: query.q, ...(query.tag ? { tag: query.tag } : {}), captureIds });
      return { query: query.q, normalisation: SEARCH_NORMALISATION, cases, total, hits, skipped };
    },
  );

  t.def(
    { method: 'get', path: '/api/cases/:caseId/captures/:captureId/annotations', summary: "A capture's tags and notes, each with who added it, when, and its custody event", tag: 'annotations', access: 'read-evidence', response: CaptureAnnotations, errors: [404] },
    async (c) => {
      const { caseId, captureId } = params(c);
      requireCase(c, 'read-evidence', caseId);
      await loadManifest(s, caseId, captureId);
      return captureAnnotations(s.custody, caseId, captureId);
    },
  );

  const target = async (caseId: string, captureId: string) => {
    const { bytes } = await loadManifest(s, caseId, captureId);
    return sha256Digest(bytes);
  };

  t.def(
    { method: 'post', path: '/api/cases/:caseId/captures/:captureId/tags', summary: 'Tag a sealed capture (a tag-added custody event; the evidence is not changed)', tag: 'annotations', access: 'annotate', body: TagRequest, response: AnnotationChange, errors: [404] },
    async (c, { body }) => {
      const { caseId, captureId } = params(c);
      const user = requireCase(c, 'annotate', caseId);
      const r = await changeTag(s.custody, { caseId, captureId, manifestDigest: await target(caseId, captureId), actor: actorOf(user), via: 'api', tag: body.tag });
      return { recorded: r.event !== null, seq: r.event?.seq ?? null, annotations: r.annotations };
    },
  );

  t.def(
    { method: 'delete', path: '/api/cases/:caseId/captures/:captureId/tags/:tag', summary: 'Remove a tag from a capture (a tag-removed custody event; the tag-added event stays on the log)', tag: 'annotations', access: 'annotate', response: AnnotationChange, errors: [404] },
    async (c) => {
      const { caseId, captureId } = params(c);
      const user = requireCase(c, 'annotate', caseId);
      const tag = TagRequest.shape.tag.safeParse(c.req.param('tag') ?? '');
      if (!tag.success) throw new PermanentError('INVALID_INPUT', `tag: ${tag.error.issues[0]?.message ?? 'invalid'}`);
      const r = await changeTag(s.custody, { caseId, captureId, manifestDigest: await target(caseId, captureId), actor: actorOf(user), via: 'api', tag: tag.data, remove: true });
      return { recorded: r.event !== null, seq: r.event?.seq ?? null, annotations: r.annotations };
    },
  );

  t.def(
    { method: 'post', path: '/api/cases/:caseId/captures/:captureId/notes', summary: 'Add a note to a sealed capture (a note-added custody event; notes are never edited or removed)', tag: 'annotations', access: 'annotate', body: NoteRequest, response: AnnotationChange, status: 201, errors: [404] },
    async (c, { body }) => {
      const { caseId, captureId } = params(c);
      const user = requireCase(c, 'annotate', caseId);
      const r = await addNote(s.custody, { caseId, captureId, manifestDigest: await target(caseId, captureId), actor: actorOf(user), via: 'api', note: body.note });
      return { recorded: true, seq: r.event.seq, annotations: r.annotations };
    },
  );
}
