import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { importPackage } from '../../../evidence/package/import.js';
import { PartnerStore } from '../../../evidence/partners.js';
import { PermanentError } from '../../../lib/errors.js';
import { ImportResponse, PackageJob, PartnerList, ShareList, ShareRequest, type ShareSummary } from '../../../schemas/api.js';
import { actorOf } from '../actor.js';
import { currentUser, may, requireCase } from '../auth.js';
import type { ApiDeps } from '../context.js';
import { forbidden } from '../errors.js';
import type { RouteTable } from '../route-table.js';
import { downloadResponse, inflateLimit, receiveZipUpload } from './packages.js';

const ImportQuery = z.object({ from: z.string().min(1).max(200) });

/**
 * Sharing with partner agencies and taking in what they share: the same builds and checks as
 * `exhibit share` and `exhibit import`. Partners are read-only here: a pin is confirmed with the
 * partner out of band, so it is added on the server's command line, never by a web request.
 */
export function shareRoutes(t: RouteTable, d: ApiDeps): void {
  const s = d.services;
  const partners = () => new PartnerStore(s.config.trust.partnersFile);
  const shareJobOf = async (caseId: string, packageId: string): Promise<PackageJob> => {
    const job = /^[0-9a-f-]{36}$/.test(packageId) ? await d.packages.get(packageId) : null;
    if (!job || job.caseId !== caseId || !job.share) throw new PermanentError('NOT_FOUND', `no share package ${packageId} of case ${caseId}`);
    return job;
  };

  t.def({ method: 'get', path: '/api/partners', summary: 'Partner agencies pinned on this deployment (read-only; pins are added with `exhibit partners add`)', tag: 'shares', access: 'signed-in', response: PartnerList }, async (c) => {
    const user = currentUser(c);
    if (!may(user, 'share') && !may(user, 'import')) throw forbidden(`role ${user.role} may neither share nor import`);
    return { partners: (await partners().list()).map((p) => ({ name: p.name, signingKeys: p.signingKeys, tsaRoots: p.tsaCas.map((ca) => ({ fingerprint: ca.fingerprint, subject: ca.subject })), addedAt: p.addedAt })) };
  });

  t.def(
    { method: 'post', path: '/api/cases/:caseId/shares', summary: 'Build a package of chosen captures for a partner agency (artifacts withheld as asked, signed share record, `shared` custody event), in the background', tag: 'shares', access: 'share', body: ShareRequest, response: PackageJob, status: 202, errors: [404] },
    async (c, { body }) => {
      const caseId = c.req.param('caseId') ?? '';
      const user = requireCase(c, 'share', caseId);
      const partner = await partners().get(body.partner);
      if (body.expires !== null && body.expires < new Date(s.clock.now()).toISOString().slice(0, 10)) throw new PermanentError('INVALID_INPUT', `expires ${body.expires} is already past`);
      if (body.expires !== null && new Date(`${body.expires}T00:00:00Z`).toISOString().slice(0, 10) !== body.expires) throw new PermanentError('INVALID_INPUT', `expires ${body.expires} is not a calendar date`);
      return d.packages.start(caseId, body.captureIds, user, {
        share: { partner: partner.name, partnerKeys: partner.signingKeys, legalBasis: body.legalBasis, tlp: body.tlp, expires: body.expires, withhold: body.withhold },
      });
    },
  );

  t.def({ method: 'get', path: '/api/cases/:caseId/shares', summary: 'Every share of the case, from its `shared` custody events', tag: 'shares', access: 'read-custody', response: ShareList, errors: [404] }, async (c) => {
    const caseId = c.req.param('caseId') ?? '';
    requireCase(c, 'read-custody', caseId);
    const shares: ShareSummary[] = [];
    for (const { event: e } of await s.custody.readLog(caseId)) {
      if (e.action !== 'shared') continue;
      const x = e.details as Record<string, unknown>;
      const str = (v: unknown) => (typeof v === 'string' ? v : '');
      shares.push({
        seq: e.seq,
        at: e.time,
        sharedBy: e.actor.id,
        shareId: str(x.shareId),
        packageId: str(x.packageId),
        partner: str(x.partner),
        legalBasis: str(x.legalBasis),
        tlp: str(x.tlp),
        expires: typeof x.expires === 'string' ? x.expires : null,
        captureIds: Array.isArray(x.captureIds) ? x.captureIds.map(String) : [],
        withheld: Array.isArray(x.withheld) ? (x.withheld as Array<Record<string, unknown>>).map((w) => ({ captureId: str(w.captureId), name: str(w.name), sha256: str(w.sha256) })) : [],
        shareRecordDigest: str(x.shareRecordDigest),
      });
    }
    return { caseId, shares };
  });

  t.def({ method: 'get', path: '/api/cases/:caseId/shares/:packageId', summary: 'State and progress of a share package build', tag: 'shares', access: 'share', response: PackageJob, errors: [404] }, async (c) => {
    const caseId = c.req.param('caseId') ?? '';
    requireCase(c, 'share', caseId);
    return shareJobOf(caseId, c.req.param('packageId') ?? '');
  });

  t.def(
    { method: 'get', path: '/api/cases/:caseId/shares/:packageId/download', summary: 'Download a built share package (zip); recorded as a custody event', tag: 'shares', access: 'share', produces: 'application/zip', errors: [404, 409] },
    async (c) => {
      const caseId = c.req.param('caseId') ?? '';
      const user = requireCase(c, 'share', caseId);
      return downloadResponse(d, user, await shareJobOf(caseId, c.req.param('packageId') ?? ''));
    },
  );

  t.def(
    {
      method: 'post',
      path: '/api/cases/:caseId/imports',
      summary: 'Take a package received from partner `from` (zip body) into the case: verified against that partner’s pins alone and refused, naming each failing item, unless verified; `received` custody events',
      tag: 'shares',
      access: 'import',
      query: ImportQuery,
      consumes: 'application/zip',
      response: ImportResponse,
      status: 201,
      errors: [404, 409, 413, 415],
      maxBodyBytes: d.options.maxUploadBytes,
    },
    async (c, { query }) => {
      const caseId = c.req.param('caseId') ?? '';
      const user = requireCase(c, 'import', caseId);
      const partner = await partners().get(query.from);
      const dir = await mkdtemp(path.join(os.tmpdir(), 'exhibit-import-upload-'));
      try {
        // Named as the sender named it (base name only), so a refusal names the file the user chose.
        const named = path.basename(c.req.header('x-filename') ?? '').replace(/[^\w.+-]/g, '_').slice(0, 200) || 'upload.zip';
        const file = path.join(dir, named);
        const { size } = await receiveZipUpload(c, file);
        // As for /api/verify: what the zip may inflate to is bounded by what was uploaded (no zip bomb).
        const result = await importPackage({ zipPath: file, caseId, partner, maxTotalBytes: inflateLimit(size, d.options.maxInflateRatio), ownKeys: (await s.keys.publicKeys()).map((k) => k.fingerprint), actor: actorOf(user), store: s.store, custody: s.custody, clock: s.clock });
        d.logger.info({ context: 'api', user: user.name, caseId, from: partner.name, created: result.created, sha256: result.record.package.sha256 }, 'package imported');
        return { created: result.created, recordKey: result.recordKey, record: result.record, custodySeqs: result.events.map((e) => e.seq), verdict: result.report.verdict };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
}
