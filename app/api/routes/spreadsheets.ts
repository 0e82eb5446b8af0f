import { isoUtc } from '../../../lib/clock.js';
import { ExportQuery, IntakeReport, IntakeRequest, MAX_INTAKE_BYTES } from '../../../schemas/spreadsheet.js';
import { sha256Digest } from '../../../evidence/canonical.js';
import { exportRows, rowsToCsv, rowsToXlsx } from '../../../analysis/case-export.js';
import { intakeSheet } from '../../../workers/csv-intake.js';
import { requireCase } from '../auth.js';
import type { ApiDeps } from '../context.js';
import { caseCapturesKey, recordRead } from '../evidence-reads.js';
import type { RouteTable } from '../route-table.js';
import { contentDisposition } from './captures.js';

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
      summary: "The case's sealed captures as CSV or XLSX (author, text excerpt, published and capture time, visibility, URL, digests, capture ids, packages); recorded as a custody event",
      tag: 'captures',
      access: 'read-evidence',
      query: ExportQuery,
      produces: 'application/octet-stream',
      errors: [404, 409],
    },
    async (c, { query }) => {
      const caseId = c.req.param('caseId') ?? '';
      const user = requireCase(c, 'read-evidence', caseId);
      const events = (await s.custody.readLog(caseId)).map((e) => e.event);
      const rows = await exportRows(s.store, caseId, events);
      const exportedAt = isoUtc(s.clock.now());
      const bytes = query.format === 'xlsx' ? await rowsToXlsx(rows, { caseId, exportedAt, exportedBy: user.name }) : rowsToCsv(rows);
      const digest = sha256Digest(bytes);
      await recordRead(s, user, caseId, 'downloaded', { digests: [digest] }, { view: 'export', format: query.format, captureIds: rows.map((r) => r.capture_id), size: bytes.length });
      const name = `${caseId}-captures.${query.format}`;
      return new Response(new Uint8Array(bytes), {
        status: 200,
        headers: {
          'Content-Type': query.format === 'xlsx' ? 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' : 'text/csv; charset=utf-8',
          'Content-Length': String(bytes.length),
          'Content-Disposition': contentDisposition('attachment', name),
          'Repr-Digest': `sha-256=:${Buffer.from(digest.slice(7), 'hex').toString('base64')}:`,
          'Cache-Control': 'private, no-store',
        },
      });
    },
  );
}
