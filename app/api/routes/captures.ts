import path from 'node:path';
import { Readable } from 'node:stream';
import * as cheerio from 'cheerio';
import { checkedStream } from '../../../evidence/hash.js';
import { IntegrityError, PermanentError } from '../../../lib/errors.js';
import { CaptureDetail, CaptureMetadata, CustodyTimeline, PageText } from '../../../schemas/api.js';
import type { Artifact } from '../../../schemas/artifact.js';
import { PostDocument } from '../../../schemas/post.js';
import { sha256Digest } from '../../../evidence/canonical.js';
import { gpsPosition } from '../../../evidence/metadata.js';
import { readSealRecords } from '../../../evidence/signing.js';
import { captureStatus } from '../../../workers/job-state.js';
import { requireCase } from '../auth.js';
import type { ApiDeps } from '../context.js';
import { captureInCase, loadManifest, recordRead } from '../evidence-reads.js';
import type { RouteTable } from '../route-table.js';

/** Image types a browser shows without running anything; SVG is not one of them. */
export const INLINE_IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/webp', 'image/gif', 'image/avif']);
const MAX_TEXT_SOURCE_BYTES = 16 * 1024 * 1024;
const MAX_METADATA_BYTES = 4 * 1024 * 1024;
const MAX_TEXT_BLOCKS = 400;

/** `attachment; filename="…"; filename*=UTF-8''…` (or inline) for an artifact name. */
export function contentDisposition(kind: 'inline' | 'attachment', name: string): string {
  const base = path.posix.basename(name) || 'artifact';
  const ascii = base.replace(/[^A-Za-z0-9._-]/g, '_');
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(base)}`;
}

/** One capture: manifest, post, page text, metadata, custody timeline and artifact downloads. */
export function captureRoutes(t: RouteTable, d: ApiDeps): void {
  const s = d.services;
  const params = (c: { req: { param(n: string): string | undefined } }) => ({ caseId: c.req.param('caseId') ?? '', captureId: c.req.param('captureId') ?? '' });
  const byRole = (artifacts: Artifact[], role: Artifact['role']) => artifacts.find((a) => a.role === role && !a.derivedFrom);
  /** Read a stored artifact whole, checking it against its manifest digest. */
  const readChecked = async (a: Artifact): Promise<Buffer> => {
    const bytes = await s.store.getBytes(a.storeKey);
    if (sha256Digest(bytes) !== a.sha256) throw new IntegrityError('HASH_MISMATCH', `artifact ${a.name} in the store does not match its manifest digest ${a.sha256}`);
    return bytes;
  };

  t.def(
    { method: 'get', path: '/api/cases/:caseId/captures/:captureId', summary: "One capture's manifest, signature and timestamps (recorded as a custody event)", tag: 'captures', access: 'read-evidence', response: CaptureDetail, errors: [404, 409] },
    async (c) => {
      const { caseId, captureId } = params(c);
      const user = requireCase(c, 'read-evidence', caseId);
      const { manifest, bytes } = await loadManifest(s, caseId, captureId);
      const seal = await readSealRecords(s.store, caseId, captureId);
      const digest = sha256Digest(bytes);
      const st = await captureStatus(s, captureId);
      const state = st.state !== 'unknown' ? st.state : seal.timestamps.length ? 'sealed' : 'unsealed';
      await recordRead(s, user, caseId, 'viewed', { captureId, digests: [digest] }, { view: 'manifest' });
      return { caseId, captureId, state, manifest, manifestDigest: digest, signature: seal.signature, timestamps: seal.timestamps.map((x) => x.record), hasPost: manifest.artifacts.some((a) => a.role === 'post') };
    },
  );

  t.def(
    { method: 'get', path: '/api/cases/:caseId/captures/:captureId/post', summary: 'The post as the platform served it (post.json), when the collector wrote one', tag: 'captures', access: 'read-evidence', response: PostDocument, errors: [404, 409] },
    async (c) => {
      const { caseId, captureId } = params(c);
      const user = requireCase(c, 'read-evidence', caseId);
      const { manifest } = await loadManifest(s, caseId, captureId);
      const post = byRole(manifest.artifacts, 'post');
      if (!post) throw new PermanentError('NOT_FOUND', `capture ${captureId} has no post.json (the page was captured as a web page)`);
      const bytes = await readChecked(post);
      await recordRead(s, user, caseId, 'viewed', { captureId, digests: [post.sha256] }, { view: 'post', artifact: post.name });
      return JSON.parse(bytes.toString('utf8')) as unknown;
    },
  );

  t.def(
    { method: 'get', path: '/api/cases/:caseId/captures/:captureId/text', summary: 'Text blocks of the captured DOM (paragraphs, headings) with their language and direction', tag: 'captures', access: 'read-evidence', response: PageText, errors: [404, 409] },
    async (c) => {
      const { caseId, captureId } = params(c);
      const user = requireCase(c, 'read-evidence', caseId);
      const { manifest } = await loadManifest(s, caseId, captureId);
      const dom = byRole(manifest.artifacts, 'dom');
      if (!dom || dom.size > MAX_TEXT_SOURCE_BYTES) return { source: dom?.name ?? null, blocks: [], truncated: !!dom };
      const html = (await readChecked(dom)).toString('utf8');
      await recordRead(s, user, caseId, 'viewed', { captureId, digests: [dom.sha256] }, { view: 'page-text', artifact: dom.name });
      // Parsed, never rendered: only text and the lang/dir attributes leave this function.
      const $ = cheerio.load(html);
      const blocks: Array<{ tag: string; text: string; lang: string | null; dir: string | null }> = [];
      let truncated = false;
      $('body h1, body h2, body h3, body p, body blockquote, body li, body figcaption, body time').each((_, el) => {
        const text = $(el).text().replace(/\s+/g, ' ').trim();
        if (!text) return;
        if (blocks.length >= MAX_TEXT_BLOCKS) {
          truncated = true;
          return false;
        }
        const langOf = $(el).closest('[lang]').attr('lang') ?? null;
        const dirOf = $(el).closest('[dir]').attr('dir') ?? null;
        blocks.push({ tag: (el as { tagName?: string }).tagName ?? 'p', text: text.slice(0, 20_000), lang: langOf, dir: dirOf === 'rtl' || dirOf === 'ltr' ? dirOf : null });
        return undefined;
      });
      return { source: dom.name, blocks, truncated };
    },
  );

  t.def(
    { method: 'get', path: '/api/cases/:caseId/captures/:captureId/metadata', summary: 'Extracted metadata of the media (EXIF with GPS, ffprobe)', tag: 'captures', access: 'read-evidence', response: CaptureMetadata, errors: [404, 409] },
    async (c) => {
      const { caseId, captureId } = params(c);
      const user = requireCase(c, 'read-evidence', caseId);
      const { manifest } = await loadManifest(s, caseId, captureId);
      const items = [];
      for (const a of manifest.artifacts.filter((x) => x.role === 'metadata' && x.derivedFrom && x.size <= MAX_METADATA_BYTES)) {
        const doc = JSON.parse((await readChecked(a)).toString('utf8')) as { data?: Record<string, unknown> };
        const data = doc.data && typeof doc.data === 'object' ? doc.data : (doc as Record<string, unknown>);
        items.push({ artifact: a.name, source: a.derivedFrom!.source, method: a.derivedFrom!.method, tool: a.derivedFrom!.tool, gps: gpsPosition(data), data });
      }
      if (items.length) await recordRead(s, user, caseId, 'viewed', { captureId }, { view: 'metadata', artifacts: items.map((i) => i.artifact) });
      return { items };
    },
  );

  t.def(
    { method: 'get', path: '/api/cases/:caseId/captures/:captureId/custody', summary: 'Custody events about one capture', tag: 'custody', access: 'read-custody', response: CustodyTimeline, errors: [404] },
    async (c) => {
      const { caseId, captureId } = params(c);
      requireCase(c, 'read-custody', caseId);
      if (!(await captureInCase(s, caseId, captureId))) throw new PermanentError('NOT_FOUND', `no capture ${captureId} in case ${caseId}`);
      const events = (await s.custody.readLog(caseId)).map((e) => e.event);
      const mine = events.filter((e) => e.subject.captureId === captureId || JSON.stringify(e.details).includes(captureId));
      return { caseId, events: mine };
    },
  );

  t.def(
    {
      method: 'get',
      path: '/api/cases/:caseId/captures/:captureId/artifacts/:name{.+}',
      summary: 'Download one artifact, byte-identical (images inline, everything else as an attachment); recorded as a custody event',
      tag: 'captures',
      access: 'read-evidence',
      produces: 'application/octet-stream',
      errors: [404, 409],
    },
    async (c) => {
      const { caseId, captureId } = params(c);
      const user = requireCase(c, 'read-evidence', caseId);
      const name = c.req.param('name') ?? '';
      const { manifest } = await loadManifest(s, caseId, captureId);
      const a = manifest.artifacts.find((x) => x.name === name);
      if (!a) throw new PermanentError('NOT_FOUND', `capture ${captureId} has no artifact ${name}`);
      const type = a.mediaType.split(';')[0]!.trim().toLowerCase();
      const inline = INLINE_IMAGE_TYPES.has(type) && c.req.query('download') === undefined;
      await recordRead(s, user, caseId, inline ? 'viewed' : 'downloaded', { captureId, digests: [a.sha256] }, { artifact: a.name, role: a.role, size: a.size });
      // Hashed while streaming: bytes that do not match the manifest end the response with an error.
      const checked = checkedStream(await s.store.get(a.storeKey), { name: `artifact ${a.name}`, sha256: a.sha256, size: a.size }, (got) =>
        d.logger.error({ context: 'api', caseId, captureId, artifact: a.name, got, expected: a.sha256 }, 'artifact in the store does not match its manifest'),
      );
      const body = Readable.toWeb(checked) as ReadableStream<Uint8Array>;
      return new Response(body, {
        status: 200,
        headers: {
          'Content-Type': a.mediaType,
          'Content-Length': String(a.size),
          'Content-Disposition': contentDisposition(inline ? 'inline' : 'attachment', a.name),
          'Repr-Digest': `sha-256=:${Buffer.from(a.sha256.slice(7), 'hex').toString('base64')}:`,
          'Cache-Control': 'private, no-store',
          // Captured bytes are never a document of our origin, even if opened directly.
          'Content-Security-Policy': "default-src 'none'; sandbox",
          'X-Content-Type-Options': 'nosniff',
        },
      });
    },
  );
}
