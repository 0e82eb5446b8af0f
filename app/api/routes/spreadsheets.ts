import { isoUtc } from '../../../lib/clock.js';
import { PermanentError } from '../../../lib/errors.js';
import { ExportQuery, IntakeReport, IntakeRequest, MAX_INTAKE_BYTES } from '../../../schemas/spreadsheet.js';
import { sha256Digest } from '../../../evidence/canonical.js';
import { exportRows, rowsToCsv, rowsToXlsx } from '../../../analysis/case-export.js';
import { intelBytes, mispEvent, readIntelCaptures, stixBundle } from '../../../analysis/intel-export.js';
import { intakeSheet } from '../../../workers/csv-intake.js';
import { requireCase } from '../auth.js';
import type { ApiDeps } from '../context.js';
import { caseCapturesKey, recordRead } from '../evidence-reads.js';
import type { RouteTable } from '../route-table.js';
import { contentDisposition } from './captures.js';

const EXTENSION = { csv: 'csv', xlsx: 'xlsx', stix: 'stix.json', misp: 'misp.json' } as const;
const CONTENT_TYPE = {
  csv: 'text/csv; charset=utf-8',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  // The media type STIX 2.1 registers for its JSON serialisation.
  stix: 'application/stix+json;version=2.1',
  misp: 'application/json; charset=utf-8',
} as const;

/** Spreadsheet in (a CSV or pasted cells of URLs, every row answered) and out (a case's captures as CSV or XLSX). */
export function spreadsheetRoutes(t: RouteTable, d: ApiDeps): void {
  const s = d.services;

  t.def(
    {
      method: 'post',
      path: '/api/cases/:caseId/intake',
      summary: 'Submit the URLs of a sheet (CSV, or tab-separated cells pasted from a spreadsheet) with optional legal basis, tags and note columns; every row answered accepted or rejected with the reason',
      tag: 'captures',
      access: 'submit',
      body: IntakeRequest,
      response: IntakeReport,
      status: 200,
      errors: [404, 413],
      // The sheet text plus JSON escaping.
      maxBodyBytes: 2 * MAX_INTAKE_BYTES,
    },
    async (c, { body }) => {
      const caseId = c.req.param('caseId') ?? '';
      const user = requireCase(c, 'submit', caseId);
      const report = await intakeSheet(body.text, { caseId, format: body.format, common: { requestedBy: user.name, user: { kind: 'user' as const, name: user.name, role: user.role }, ...(body.legalBasis ? { legalBasis: body.legalBasis } : {}), options: body.force ? { force: true } : {} } }, s);
      const ids = report.rows.flatMap((r) => (r.captureId ? [r.captureId] : []));
      if (ids.length) {
        const now = Date.now();
        await s.redis.zadd(caseCapturesKey(s.config.redis.prefix, caseId), 'NX', ...ids.flatMap((id) => [now, id]));
      }
      d.logger.info({ context: 'api', user: user.name, caseId, accepted: report.accepted, rejected: report.rejected }, 'sheet submitted');
      return report;
    },
  );

  t.def(
    {
      method: 'get',
      path: '/api/cases/:caseId/export',
      summary: "The case's sealed captures as CSV or XLSX (author, text excerpt, published and capture time, visibility, URL, digests, capture ids, packages), or as intelligence: a STIX 2.1 bundle or a MISP event of the case or of `capture` ids, TLP-marked (`tlp`), each object naming its capture id and manifest digest; recorded as a custody event",
      tag: 'captures',
      access: 'read-evidence',
      query: ExportQuery,
      produces: 'application/octet-stream',
      errors: [400, 404, 409],
    },
    async (c, { query }) => {
      const caseId = c.req.param('caseId') ?? '';
      const user = requireCase(c, 'read-evidence', caseId);
      const exportedAt = isoUtc(s.clock.now());
      let bytes: Buffer;
      let captureIds: string[];
      if (query.format === 'stix' || query.format === 'misp') {
        const wanted = query.capture?.split(',').map((v) => v.trim()).filter(Boolean);
        const captures = await readIntelCaptures(s.store, caseId, wanted);
        const opts = { caseId, tlp: query.tlp, exportedAt };
        bytes = intelBytes(query.format === 'stix' ? stixBundle(captures, opts) : mispEvent(captures, opts).event);
        captureIds = captures.map((x) => x.captureId);
      } else {
        if (query.capture) throw new PermanentError('INVALID_INPUT', 'capture applies to format stix or misp; a spreadsheet holds the whole case');
        const events = (await s.custody.readLog(caseId)).map((e) => e.event);
        const rows = await exportRows(s.store, caseId, events);
        bytes = query.format === 'xlsx' ? await rowsToXlsx(rows, { caseId, exportedAt, exportedBy: user.name }) : rowsToCsv(rows);
        captureIds = rows.map((r) => r.capture_id);
      }
      const digest = sha256Digest(bytes);
      await recordRead(s, user, caseId, 'downloaded', { digests: [digest] }, { view: 'export', format: query.format, ...(query.format === 'stix' || query.format === 'misp' ? { tlp: query.tlp } : {}), captureIds, size: bytes.length });
      const name = `${caseId}-captures.${EXTENSION[query.format]}`;
      return new Response(new Uint8Array(bytes), {
        status: 200,
        headers: {
          'Content-Type': CONTENT_TYPE[query.format],
          'Content-Length': String(bytes.length),
          'Content-Disposition': contentDisposition('attachment', name),
          'Repr-Digest': `sha-256=:${Buffer.from(digest.slice(7), 'hex').toString('base64')}:`,
          'Cache-Control': 'private, no-store',
        },
      });
    },
  );
}
