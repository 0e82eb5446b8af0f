import { z } from 'zod';
import { CaptureList, CaseList, CustodyTimeline, StatusList, SubmitRequest, SubmitResponse, type CaptureStatusBody, type CaptureSummary } from '../../../schemas/api.js';
import { PostDocument } from '../../../schemas/post.js';
import { annotationsOf, tagKey } from '../../../evidence/annotations.js';
import { readSealRecords } from '../../../evidence/signing.js';
import { sealedCaptureIds } from '../../../evidence/store.js';
import { captureStatus, isFinal } from '../../../workers/job-state.js';
import { submitCaptures } from '../../../workers/submit.js';
import { contentSummary } from '../../post-view.js';
import { currentUser, requireCase } from '../auth.js';
import type { ApiDeps } from '../context.js';
import { caseCapturesKey, caseOfCaptureJob, loadManifest, recordRead } from '../evidence-reads.js';
import type { RouteTable } from '../route-table.js';
import { pollingSse } from '../sse.js';

const ListQuery = z.object({ tag: z.string().min(1).max(64).optional().describe('only captures with this tag (compared folded: case, Arabic letter variants, diacritics)') });
const IdsQuery = z.object({ ids: z.string().min(1).max(100 * 37).describe('comma-separated capture ids (at most 100)') });

/** Cases, the captures of a case, submission, progress and the case custody log. */
export function caseRoutes(t: RouteTable, d: ApiDeps): void {
  const s = d.services;
  const sealedIds = (caseId: string) => sealedCaptureIds(s.store, caseId);

  /** Status of captures of one case; ids of other cases answer `unknown` (nothing leaks across cases). */
  const statuses = async (caseId: string, ids: string[]): Promise<CaptureStatusBody[]> =>
    Promise.all(
      ids.map(async (id) => {
        const owner = await caseOfCaptureJob(s, id);
        if (owner !== caseId) return { captureId: id, state: 'unknown', progress: null, result: null, failure: null, attempts: 0, url: null } satisfies CaptureStatusBody;
        return (await captureStatus(s, id)) as CaptureStatusBody;
      }),
    );
  const parseIds = (raw: string) => [...new Set(raw.split(',').map((x) => x.trim()).filter(Boolean))].slice(0, 100);

  t.def({ method: 'get', path: '/api/cases', summary: 'Cases you are a member of', tag: 'cases', access: 'list-cases', response: CaseList }, async (c) => {
    const user = currentUser(c);
    return { cases: await Promise.all(user.cases.map(async (caseId) => ({ caseId, sealedCaptures: (await sealedIds(caseId)).length }))) };
  });

  t.def(
    { method: 'post', path: '/api/cases/:caseId/captures', summary: 'Submit one or many URLs into a case', tag: 'captures', access: 'submit', body: SubmitRequest, response: SubmitResponse, status: 202, errors: [404] },
    async (c, { body }) => {
      const caseId = c.req.param('caseId') ?? '';
      const user = requireCase(c, 'submit', caseId);
      // Private targets follow the server's config (capture.allowPrivateNetwork), never the client.
      const requests = body.urls.map((url) => ({ url, caseId, requestedBy: user.name, user: { kind: 'user' as const, name: user.name, role: user.role }, legalBasis: body.legalBasis, options: body.force ? { force: true } : {} }));
      const outcomes = await submitCaptures(requests, s);
      const accepted = outcomes.flatMap((o) => (o.ok ? [{ url: o.url, captureId: o.captureId, duplicate: o.duplicate }] : []));
      const rejected = outcomes.flatMap((o) => (o.ok ? [] : [{ url: o.url, failure: o.failure }]));
      if (accepted.length) {
        const now = Date.now();
        await s.redis.zadd(caseCapturesKey(s.config.redis.prefix, caseId), 'NX', ...accepted.flatMap((a) => [now, a.captureId]));
      }
      d.logger.info({ context: 'api', user: user.name, caseId, accepted: accepted.length, rejected: rejected.length }, 'captures submitted');
      return { caseId, accepted, rejected };
    },
  );

  t.def(
    { method: 'get', path: '/api/cases/:caseId/status', summary: 'Progress of captures of the case (polling)', tag: 'captures', access: 'read-evidence', query: IdsQuery, response: StatusList, errors: [404] },
    async (c, { query }) => {
      const caseId = c.req.param('caseId') ?? '';
      requireCase(c, 'read-evidence', caseId);
      return { captures: await statuses(caseId, parseIds(query.ids)) };
    },
  );

  t.def(
    { method: 'get', path: '/api/cases/:caseId/events', summary: 'Progress of captures of the case (server-sent events `status`, then `done`)', tag: 'captures', access: 'read-evidence', query: IdsQuery, produces: 'text/event-stream', errors: [404] },
    async (c, { query }) => {
      const caseId = c.req.param('caseId') ?? '';
      requireCase(c, 'read-evidence', caseId);
      const ids = parseIds(query.ids);
      return pollingSse(c, {
        name: 'status',
        intervalMs: d.options.progressIntervalMs,
        poll: async () => ({ captures: await statuses(caseId, ids) }),
        isDone: (v) => v.captures.every((x) => isFinal(x.state) || x.state === 'unknown'),
      });
    },
  );

  t.def({ method: 'get', path: '/api/cases/:caseId/captures', summary: 'Captures of a case, with their tags; `tag` keeps those with that tag (recorded as a custody event)', tag: 'captures', access: 'read-evidence', query: ListQuery, response: CaptureList, errors: [404] }, async (c, { query }) => {
    const caseId = c.req.param('caseId') ?? '';
    const user = requireCase(c, 'read-evidence', caseId);
    const annotations = annotationsOf((await s.custody.readLog(caseId)).map((e) => e.event));
    const tagsOf = (id: string) => annotations.get(id)?.tags.map((x) => x.tag) ?? [];
    const wanted = query.tag === undefined ? null : tagKey(query.tag);
    const sealed = new Set(await sealedIds(caseId));
    const submitted = await s.redis.zrange(caseCapturesKey(s.config.redis.prefix, caseId), 0, -1);
    const ids = [...new Set([...submitted, ...sealed])];
    const rows: CaptureSummary[] = [];
    for (const id of ids) {
      const st = await captureStatus(s, id);
      if (wanted !== null && !tagsOf(id).some((x) => tagKey(x) === wanted)) continue;
      const row: CaptureSummary = { content: null, captureId: id, url: st.url, state: st.state, pageStatus: null, title: null, platform: null, author: null, requestedBy: null, submittedAt: null, sealedAt: null, thumbnail: null, progress: st.progress, failure: st.failure, watchId: null, supersedes: null, observationOf: null, tags: tagsOf(id) };
      if (sealed.has(id)) {
        const { manifest: m } = await loadManifest(s, caseId, id);
        if (row.state === 'unknown') row.state = (await readSealRecords(s.store, caseId, id)).timestamps.length ? 'sealed' : 'unsealed';
        const shot = m.artifacts.find((a) => a.role === 'screenshot' && !a.derivedFrom);
        const thumb = shot && m.artifacts.find((a) => a.role === 'thumbnail' && a.derivedFrom?.source === shot.name);
        Object.assign(row, { url: m.request.url, pageStatus: m.status, title: m.page.title, platform: m.environment.collector.id, requestedBy: m.request.requestedBy, submittedAt: m.request.submittedAt, sealedAt: m.sealedAt, thumbnail: thumb?.name ?? null, failure: row.failure ?? m.failure, watchId: m.request.options.watchId ?? null, supersedes: m.request.options.supersedes ?? null, observationOf: m.request.options.observationOf ?? null });
        const post = m.artifacts.find((a) => a.role === 'post' && a.size < 8 * 1024 * 1024);
        if (post) {
          const doc = PostDocument.safeParse(JSON.parse((await s.store.getBytes(post.storeKey)).toString('utf8')));
          if (doc.success) {
            row.platform = doc.data.platform;
            const a = doc.data.post?.author;
            row.author = a ? (a.displayName ?? a.handle ?? a.id) : null;
            row.content = contentSummary(doc.data);
          }
        }
      } else if (row.state === 'unknown') continue; // submitted job gone and nothing sealed
      rows.push(row);
    }
    rows.sort((a, b) => (a.submittedAt ?? a.sealedAt ?? '~').localeCompare(b.submittedAt ?? b.sealedAt ?? '~') || a.captureId.localeCompare(b.captureId));
    const shown = rows.filter((r) => sealed.has(r.captureId)).map((r) => r.captureId);
    // Listing sealed evidence (titles, authors) is a read; an empty listing starts no custody log.
    if (shown.length) await recordRead(s, user, caseId, 'viewed', {}, { view: 'capture-list', ...(query.tag !== undefined ? { tag: query.tag } : {}), captureIds: shown });
    return { caseId, captures: rows };
  });

  t.def({ method: 'get', path: '/api/cases/:caseId/custody', summary: 'The custody log of a case', tag: 'custody', access: 'read-custody', response: CustodyTimeline, errors: [404] }, async (c) => {
    const caseId = c.req.param('caseId') ?? '';
    requireCase(c, 'read-custody', caseId);
    return { caseId, events: (await s.custody.readLog(caseId)).map((e) => e.event) };
  });
}
