import { PermanentError } from '../../../lib/errors.js';
import { ReplayTicket } from '../../../schemas/api.js';
import { replayArchive } from '../../../evidence/replay.js';
import { requireCase } from '../auth.js';
import type { ApiDeps } from '../context.js';
import { HttpError } from '../errors.js';
import { loadManifest, recordRead } from '../evidence-reads.js';
import { issueReplayToken } from '../replay-tokens.js';
import type { RouteTable } from '../route-table.js';

/**
 * The replay origin for a web app origin: the configured public origin, else the app's own host
 * name on the replay port (another port is another origin).
 */
export function replayOriginFor(appOrigin: string, replay: ApiDeps['options']['replay']): string {
  if (replay.publicOrigin) return replay.publicOrigin;
  const u = new URL(appOrigin);
  return `${u.protocol}//${u.hostname}:${replay.port}`;
}

/** The web app's origin as the browser sees it: the `Origin` a browser sends with a POST, else the request URL's. */
export function appOriginOf(c: { req: { header(n: string): string | undefined; url: string } }): string {
  const o = c.req.header('origin');
  if (o && /^https?:\/\/[^/\s]+$/i.test(o)) return o;
  return new URL(c.req.url).origin;
}

/** Replay of one capture in ReplayWeb.page, on the replay origin. */
export function replayRoutes(t: RouteTable, d: ApiDeps): void {
  const s = d.services;
  t.def(
    {
      method: 'post',
      path: '/api/cases/:caseId/captures/:captureId/replay',
      summary: "Open a capture's archive in ReplayWeb.page on the replay origin: a viewer URL with a short-lived, capture-scoped, read-only token (recorded as a custody event)",
      tag: 'captures',
      access: 'read-evidence',
      response: ReplayTicket,
      errors: [404, 409],
    },
    async (c) => {
      const caseId = c.req.param('caseId') ?? '';
      const captureId = c.req.param('captureId') ?? '';
      const user = requireCase(c, 'read-evidence', caseId);
      const { manifest } = await loadManifest(s, caseId, captureId);
      const a = replayArchive(manifest.artifacts);
      if (!a) throw new PermanentError('NOT_FOUND', `capture ${captureId} recorded no web archive to replay`);
      const appOrigin = appOriginOf(c);
      const replayOrigin = replayOriginFor(appOrigin, d.options.replay);
      if (replayOrigin === appOrigin) throw new HttpError(500, 'INVALID_CONFIG', 'the replay origin is the web app origin; set replay.publicOrigin or replay.port to another origin');
      const pageUrl = manifest.page.finalUrl ?? manifest.request.url;
      const custodySeq = await recordRead(s, user, caseId, 'viewed', { captureId, digests: [a.sha256] }, { view: 'replay', artifact: a.name, role: a.role, replayOrigin });
      const { token, expiresAt } = await issueReplayToken(
        s,
        { caseId, captureId, artifact: { name: a.name, storeKey: a.storeKey, sha256: a.sha256, size: a.size, mediaType: a.mediaType }, pageUrl, appOrigin, user: user.name },
        d.options.replay.tokenTtlSeconds,
      );
      return { viewerUrl: `${replayOrigin}/view/${token}`, replayOrigin, archive: { name: a.name, role: a.role, sha256: a.sha256, size: a.size }, pageUrl, expiresAt, custodySeq };
    },
  );
}
