import type { Context } from 'hono';
import { z } from 'zod';
import { PermanentError } from '../../../lib/errors.js';
import { WatchAddRequest, WatchEvents, WatchEventsQuery, WatchList } from '../../../schemas/api.js';
import { WatchStatus, type WatchRunWithChanges } from '../../../schemas/watch.js';
import { storeKeys } from '../../../evidence/store.js';
import { changeCaptureIds, readRunChanges } from '../../../analysis/watch-changes.js';
import { addWatch, failedDeliveries, getWatch, listWatches, pauseWatch, removeWatch, resumeWatch, runWatchNow, watchEvents, watchStatus } from '../../../workers/watch.js';
import { currentUser, requireCase, requirePermission, type Permission } from '../auth.js';
import type { ApiDeps, ApiEnv } from '../context.js';
import { recordRead } from '../evidence-reads.js';
import type { RouteTable } from '../route-table.js';
import { pollingSse } from '../sse.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const Ok = z.object({ watchId: z.string(), state: z.string() });

/**
 * Watchlists: add, list, pause/resume/run/remove, and the events timeline with each finding read
 * back from the sealed captures on both sides. A watch belongs to its case: only members see it,
 * a watch of another case answers 404 like a missing one. Reading changes shows captured content,
 * so it is an evidence read on the case custody log.
 */
export function watchRoutes(t: RouteTable, d: ApiDeps): void {
  const w = d.watches;
  /** The watch, when the user holds `p` and is a member of its case; 404 otherwise. */
  const watchFor = async (c: Context<ApiEnv>, p: Permission) => {
    const id = c.req.param('watchId') ?? '';
    const watch = UUID.test(id) ? await getWatch(w, id) : null;
    const user = currentUser(c);
    if (!watch || !user.cases.includes(watch.caseId)) {
      requirePermission(c, p); // 403 for a role without the permission, else 404
      throw new PermanentError('NOT_FOUND', `no watch ${id}`);
    }
    return { watch, user: requireCase(c, p, watch.caseId) };
  };

  t.def({ method: 'get', path: '/api/watches', summary: 'Watches of the cases you are a member of: state, interval and back-off, last result, next run', tag: 'watches', access: 'read-evidence', response: WatchList }, async (c) => {
    const user = currentUser(c);
    const all = await listWatches(w);
    return { watches: all.filter((x) => user.cases.includes(x.watch.caseId)) };
  });

  t.def(
    { method: 'post', path: '/api/watches', summary: 'Watch a URL: capture it into the case every interval, and capture what changed', tag: 'watches', access: 'watch', body: WatchAddRequest, response: WatchStatus, status: 201, errors: [404] },
    async (c, { body }) => {
      const user = requireCase(c, 'watch', body.caseId);
      // Private targets follow the server's config, never the client.
      const watch = await addWatch(
        {
          url: body.url,
          caseId: body.caseId,
          every: body.every,
          createdBy: user.name,
          ...(body.legalBasis ? { legalBasis: body.legalBasis } : {}),
          ...(body.webhook ? { webhook: body.webhook } : {}),
          ...(d.services.config.capture.allowPrivateNetwork ? { allowPrivateNetwork: true } : {}),
        },
        w,
        { initialRun: Boolean(body.runNow) },
      );
      d.logger.info({ context: 'api', user: user.name, caseId: watch.caseId, watchId: watch.id }, 'watch added');
      return watchStatus(w, watch.id);
    },
  );

  t.def({ method: 'get', path: '/api/watches/:watchId', summary: 'One watch with its run status', tag: 'watches', access: 'read-evidence', response: WatchStatus, errors: [404] }, async (c) => {
    const { watch } = await watchFor(c, 'read-evidence');
    return watchStatus(w, watch.id);
  });

  for (const [action, summary] of [
    ['pause', 'Stop scheduling the watch (its runs and captures stay)'],
    ['resume', 'Schedule a paused watch again'],
    ['run', 'Queue a run now, besides the schedule'],
  ] as const) {
    t.def({ method: 'post', path: `/api/watches/:watchId/${action}`, summary, tag: 'watches', access: 'watch', response: Ok, errors: [404] }, async (c) => {
      const { watch, user } = await watchFor(c, 'watch');
      if (action === 'pause') await pauseWatch(w, watch.id);
      else if (action === 'resume') await resumeWatch(w, watch.id);
      else await runWatchNow(w, watch.id);
      d.logger.info({ context: 'api', user: user.name, watchId: watch.id, action }, `watch ${action}`);
      return { watchId: watch.id, state: action === 'run' ? 'run queued' : action === 'pause' ? 'paused' : 'active' };
    });
  }

  t.def({ method: 'delete', path: '/api/watches/:watchId', summary: 'Remove the watch, its schedule and snapshot (its captures and custody events stay)', tag: 'watches', access: 'watch', response: Ok, errors: [404] }, async (c) => {
    const { watch, user } = await watchFor(c, 'watch');
    await removeWatch(w, watch.id);
    d.logger.info({ context: 'api', user: user.name, watchId: watch.id }, 'watch removed');
    return { watchId: watch.id, state: 'removed' };
  });

  t.def(
    { method: 'get', path: '/api/watches/:watchId/events', summary: 'Runs of the watch, newest first, each finding with the captures on both sides (text diff, media by digest); failed webhook deliveries. Recorded as a custody event', tag: 'watches', access: 'read-evidence', query: WatchEventsQuery, response: WatchEvents, errors: [404, 409] },
    async (c, { query }) => {
      const { watch, user } = await watchFor(c, 'read-evidence');
      const status = await watchStatus(w, watch.id);
      const runs: WatchRunWithChanges[] = [];
      for (const r of await watchEvents(w, watch.id, query.limit)) runs.push({ ...r, changes: await readRunChanges(d.services.store, watch.caseId, r) });
      const read = changeCaptureIds(runs.flatMap((r) => r.changes));
      if (read.length) await recordRead(d.services, user, watch.caseId, 'viewed', {}, { view: 'watch-events', watchId: watch.id, captureIds: read });
      return { status, runs, failedDeliveries: await failedDeliveries(w, watch.id) };
    },
  );

  t.def(
    { method: 'get', path: '/api/watches/:watchId/stream', summary: 'Live state of the watch (server-sent events `watch` on every change: runs, last result, captures still sealing)', tag: 'watches', access: 'read-evidence', produces: 'text/event-stream', errors: [404] },
    async (c) => {
      const { watch } = await watchFor(c, 'read-evidence');
      return pollingSse(c, {
        name: 'watch',
        intervalMs: d.options.progressIntervalMs,
        poll: async () => {
          const st = await watchStatus(w, watch.id).catch(() => null);
          if (!st) return { removed: true };
          const [latest] = await watchEvents(w, watch.id, 1);
          // Captures of the latest run's findings that are not sealed yet: the view re-reads when they are.
          let sealing = 0;
          for (const f of latest?.findings ?? []) for (const id of [f.captureId, f.previousCaptureId]) if (id && !(await d.services.store.stat(storeKeys.manifest(watch.caseId, id)))) sealing++;
          return { removed: false, runs: st.runs, lastRunAt: st.lastRunAt, lastOutcome: st.lastOutcome, state: st.watch.state, nextRunAt: st.nextRunAt, effectiveEvery: st.effectiveEvery, sealing };
        },
        isDone: (v) => v.removed === true,
      });
    },
  );
}
