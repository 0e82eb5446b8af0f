import { PermanentError } from '../../lib/errors.js';
import type { Config } from '../../schemas/config.js';
import { StoredCaptureManifest, type CaptureManifest } from '../../schemas/manifest.js';
import { PostDocument, VISIBILITY_STATES, type Post } from '../../schemas/post.js';
import { annotationsOf, captureAnnotations, tagKey } from '../../evidence/annotations.js';
import { readSealRecords } from '../../evidence/signing.js';
import { sealedCaptureIds, sealedCapturesByCase, storeKeys } from '../../evidence/store.js';
import type { Services } from '../../workers/runtime.js';
import { captureIndexKey } from '../../workers/queues.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { annotationLines, authorLine, briefOf, firstLines, isolate, originalsFirst, outcomeWords, postSummary, postsOf, publishedLine, textTag, type PostBrief } from '../post-view.js';
import { out, withServices } from './common.js';

/** Which case a capture belongs to: from its job, else by looking through the store. */
export async function findCaptureCase(s: Services, captureId: string): Promise<string> {
  const jobId = await s.redis.hget(captureIndexKey(s.config.redis.prefix), captureId);
  const job = jobId ? await s.queues.capture.getJob(jobId) : undefined;
  const fromJob = (job?.data as { request?: { caseId?: string } } | undefined)?.request?.caseId;
  if (fromJob) return fromJob;
  for (const [caseId, ids] of await sealedCapturesByCase(s.store)) if (ids.includes(captureId)) return caseId;
  throw new PermanentError('NOT_FOUND', `no capture ${captureId} in ${s.store.location}`);
}

export async function readManifest(s: Services, caseId: string, captureId: string): Promise<{ manifest: CaptureManifest; bytes: Buffer }> {
  const key = storeKeys.manifest(caseId, captureId);
  if (!(await s.store.stat(key))) throw new PermanentError('NOT_FOUND', `capture ${captureId} of case ${caseId} has no sealed manifest (yet) in ${s.store.location}`);
  const bytes = await s.store.getBytes(key);
  return { manifest: StoredCaptureManifest.parse(JSON.parse(bytes.toString('utf8'))), bytes };
}

/** The capture's post.json, when a platform collector wrote one. */
export async function readPostDocument(s: Services, m: CaptureManifest): Promise<PostDocument | null> {
  const a = m.artifacts.find((x) => x.role === 'post');
  if (!a) return null;
  return PostDocument.parse(JSON.parse((await s.store.getBytes(a.storeKey)).toString('utf8')));
}

/** Lines for one post: author, published time, language/direction of its text, first lines of text. */
function postLines(post: Post, indent: string, lines: number): string[] {
  const rows: string[] = [];
  rows.push(`${indent}Author       ${authorLine(post.author) ?? '—'}`);
  rows.push(`${indent}Published    ${publishedLine(post) ?? 'not stated by the platform'}`);
  const tag = textTag(post);
  if (post.text) {
    rows.push(`${indent}Text         ${tag}`);
    for (const l of firstLines(post.text.content, lines)) rows.push(`${indent}             ${isolate(l, post.text.direction)}`);
  } else rows.push(`${indent}Text         —`);
  if (post.media.length) rows.push(`${indent}Media        ${post.media.map((x) => x.type).join(', ')}`);
  if (post.url) rows.push(`${indent}Post URL     ${post.url}`);
  return rows;
}

const size = (n: number) => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);

export async function showCommand(config: Config, captureId: string, caseId: string | undefined, json: boolean): Promise<ExitCode> {
  return withServices(config, async (s) => {
    const theCase = caseId ?? (await findCaptureCase(s, captureId));
    const { manifest: m, bytes } = await readManifest(s, theCase, captureId);
    if (json) {
      process.stdout.write(bytes.toString('utf8'));
      out();
      return EXIT.OK;
    }
    const seal = await readSealRecords(s.store, theCase, captureId);
    const doc = await readPostDocument(s, m);
    const p = m.page;
    const e = m.environment;
    out(`Capture ${m.captureId}  (case ${m.caseId})`);
    if (doc) {
      const { post, listed } = postsOf(doc);
      out(`  Platform     ${doc.platform}`);
      out(`  Visibility   ${outcomeWords(m, doc)}${doc.visibility.state !== 'visible' && doc.visibility.reason ? ` — ${doc.visibility.reason}` : ''}`);
      for (const f of doc.review) out(`               ! review: ${f.message}`);
      if (post) for (const l of postLines(post, '  ', 6)) out(l);
      if (post && doc.replies.length) out(`  Replies      ${doc.replies.length}`);
      if (listed.length) {
        out(`  Posts        ${listed.length} (a list capture: every post the page showed)`);
        listed.forEach((x, i) => {
          out(`   ${String(i + 1).padStart(3)}. ${x.id}`);
          for (const l of postLines(x, '       ', 3)) out(l);
        });
      }
    }
    out(`  URL          ${m.request.url}`);
    out(`  Final URL    ${p.finalUrl ?? '—'}${p.redirects.length ? `  (${p.redirects.length} redirect${p.redirects.length > 1 ? 's' : ''})` : ''}`);
    out(`  Page         ${m.status === 'captured' ? 'captured' : 'not captured'}${p.status ? `, HTTP ${p.status}` : ''}${m.failure && !doc ? ` — ${m.failure.code}: ${m.failure.message}` : ''}`);
    // The page's language is the page's, not the post's (a platform's page is often lang=en around an Arabic post).
    out(`  Page title   ${p.title ?? '—'}${p.lang ? `  [page lang=${p.lang}${p.dir ? `, dir=${p.dir}` : ''}]` : ''}`);
    out(`  Operator     ${m.request.requestedBy}${m.request.operator ? ` (command line: OS user ${m.request.operator.osUser} on ${m.request.operator.host})` : ''}${m.request.legalBasis ? `   legal basis: ${m.request.legalBasis}` : ''}`);
    out(`  Captured     ${e.startedAt} → ${e.finishedAt}   sealed ${m.sealedAt}`);
    out(`  Server       ${p.remoteIp ?? '—'}${p.dns ? `   DNS ${p.dns.host} → ${p.dns.addresses.join(', ') || p.dns.error}` : ''}`);
    if (p.tls) out(`  TLS          ${p.tls.protocol ?? '?'} ${p.tls.cipher ?? ''}  subject ${p.tls.subject ?? '?'}  issuer ${p.tls.issuer ?? '?'}  valid ${p.tls.validFrom ?? '?'} – ${p.tls.validTo ?? '?'}${p.tls.authorized ? '' : `  (NOT trusted: ${p.tls.authorizationError ?? 'unknown'})`}`);
    out(`  Browser      ${e.browserVersion} via playwright-core ${e.playwrightVersion}; ${e.viewport.width}×${e.viewport.height} ${e.locale} ${e.timezone}`);
    out(`  Host         ${e.hostname}; egress IP ${e.network.egressIp ?? `unknown${e.network.egressIpError ? ` (${e.network.egressIpError})` : ''}`}${e.network.proxy ? `; proxy ${e.network.proxy}` : ''}`);
    out(`  Exhibit      ${e.exhibitVersion}${e.gitCommit ? ` (${e.gitCommit.slice(0, 12)})` : ''}; collector ${e.collector.id} ${e.collector.version}`);
    out(`  Signature    ${seal.signature ? `Ed25519 key ${seal.signature.keyFingerprint}` : 'none'}`);
    for (const t of seal.timestamps) out(`  Timestamp    ${t.record.genTime} from ${t.record.tsaName ?? t.record.tsaUrl} (local clock ${t.record.clockSkewMs >= 0 ? '+' : ''}${t.record.clockSkewMs} ms)`);
    if (seal.timestamps.length === 0) out('  Timestamp    none — UNSEALED');
    out(`  Artifacts    ${m.artifacts.length} (originals first, then derived)`);
    for (const a of originalsFirst(m.artifacts)) {
      const derived = a.derivedFrom ? `  derived from ${a.derivedFrom.source} (${a.derivedFrom.method})` : '';
      out(`    ${a.role.padEnd(11)} ${a.name}  ${size(a.size)}  ${a.sha256}${derived}`);
      if (a.sourceUrl) out(`                from ${a.sourceUrl}`);
      for (const f of a.flags) out(`                ! ${f.code}: ${f.message}`);
    }
    const failed = m.enrichment.filter((x) => x.status === 'failed');
    for (const f of failed) out(`  ! ${f.step} of ${f.artifact} failed: ${f.message ?? ''}`);
    for (const l of annotationLines(await captureAnnotations(s.custody, theCase, captureId))) out(l);
    return EXIT.OK;
  });
}

export const LIST_SORTS = ['captured', 'published', 'author', 'platform'] as const;
export type ListSort = (typeof LIST_SORTS)[number];

/** Filters of `exhibit list`; times are ISO-8601 (a date alone is that day from 00:00 UTC). */
export interface ListFilters {
  platform?: string;
  /** Matches the handle or display name, case-insensitively, anywhere in it. */
  author?: string;
  /** `sealed`, `unsealed`, `failed` (page not captured) or a visibility state (`login-wall`, `not-recognised`, …). */
  status?: string;
  since?: string;
  until?: string;
  sort?: ListSort;
  /** Only captures with this tag (compared folded, see evidence/annotations.ts `tagKey`). */
  tag?: string;
}

export const LIST_STATUSES = ['sealed', 'unsealed', 'failed', ...VISIBILITY_STATES] as const;

export interface ListRow {
  captureId: string;
  capturedAt: string;
  sealedAt: string;
  status: string;
  sealed: boolean;
  url: string;
  title: string | null;
  artifacts: number;
  operator: string;
  platform: string | null;
  visibility: string | null;
  outcome: string;
  author: PostBrief['author'];
  published: string | null;
  text: string | null;
  direction: 'ltr' | 'rtl' | null;
  posts: PostBrief[];
  /** Analysts' tags (custody events, not evidence). */
  tags: string[];
}

function parseTime(v: string, name: string): string {
  const t = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : v);
  if (Number.isNaN(t)) throw new PermanentError('INVALID_INPUT', `--${name} ${v}: not a date or ISO-8601 time`);
  return new Date(t).toISOString();
}

function matches(r: ListRow, f: ListFilters, since: string | null, until: string | null): boolean {
  if (f.platform && (r.platform ?? 'web') !== f.platform.toLowerCase()) return false;
  if (f.author) {
    const q = f.author.replace(/^@/, '').toLowerCase();
    const authors = [r.author, ...r.posts.map((x) => x.author)].filter((a) => a !== null);
    if (!authors.some((a) => `${a.handle ?? ''}\n${a.displayName ?? ''}`.toLowerCase().includes(q))) return false;
  }
  if (f.status) {
    const st = f.status;
    const ok = st === 'sealed' ? r.sealed : st === 'unsealed' ? !r.sealed : st === 'failed' ? r.status === 'failed' && r.visibility === null : r.visibility === st;
    if (!ok) return false;
  }
  if (f.tag !== undefined && !r.tags.some((x) => tagKey(x) === tagKey(f.tag!))) return false;
  if (since && r.capturedAt < since) return false;
  if (until && r.capturedAt >= until) return false;
  return true;
}

const SORTERS: Record<ListSort, (a: ListRow, b: ListRow) => number> = {
  captured: (a, b) => a.capturedAt.localeCompare(b.capturedAt),
  published: (a, b) => (a.published ?? '').localeCompare(b.published ?? ''),
  author: (a, b) => (a.author?.handle ?? a.author?.displayName ?? '').localeCompare(b.author?.handle ?? b.author?.displayName ?? ''),
  platform: (a, b) => (a.platform ?? '').localeCompare(b.platform ?? ''),
};

export async function listCommand(config: Config, caseId: string, json: boolean, filters: ListFilters = {}): Promise<ExitCode> {
  if (filters.status && !(LIST_STATUSES as readonly string[]).includes(filters.status)) throw new PermanentError('INVALID_INPUT', `--status ${filters.status}: expected one of ${LIST_STATUSES.join(', ')}`);
  const since = filters.since ? parseTime(filters.since, 'since') : null;
  const until = filters.until ? parseTime(filters.until, 'until') : null;
  return withServices(config, async (s) => {
    const annotations = annotationsOf((await s.custody.readLog(caseId)).map((e) => e.event));
    const all: ListRow[] = [];
    for (const captureId of await sealedCaptureIds(s.store, caseId)) {
      const { manifest: m } = await readManifest(s, caseId, captureId);
      const seal = await readSealRecords(s.store, caseId, captureId);
      const doc = await readPostDocument(s, m);
      const { post, listed } = doc ? postsOf(doc) : { post: null, listed: [] };
      const b = post ? briefOf(post) : null;
      all.push({
        captureId,
        capturedAt: m.environment.startedAt,
        sealedAt: m.sealedAt,
        status: m.status,
        sealed: seal.timestamps.length > 0,
        url: m.request.url,
        title: m.page.title,
        artifacts: m.artifacts.length,
        operator: m.request.requestedBy,
        platform: doc?.platform ?? null,
        visibility: doc?.visibility.state ?? null,
        outcome: outcomeWords(m, doc),
        author: b?.author ?? null,
        published: b?.published ?? null,
        text: b?.text ?? null,
        direction: post?.text?.direction ?? null,
        posts: listed.map(briefOf),
        tags: annotations.get(captureId)?.tags.map((x) => x.tag) ?? [],
      });
    }
    const rows = all.filter((r) => matches(r, filters, since, until)).sort(SORTERS[filters.sort ?? 'captured']);
    if (json) out(JSON.stringify(rows, null, 2));
    else if (rows.length === 0) out(all.length ? `no capture of case ${caseId} matches the filters (${all.length} in the case)` : `no sealed captures in case ${caseId}`);
    else
      for (const r of rows) {
        out(`${r.captureId}  ${r.platform ?? 'web'}  ${r.outcome}  ${r.sealed ? 'sealed' : 'UNSEALED'}`);
        out(`    captured ${r.capturedAt}${r.published ? `   published ${r.published}` : ''}`);
        if (r.author) out(`    ${authorLine(r.author)}`);
        if (r.text) out(`    ${isolate(r.text, r.direction)}`);
        if (!r.author && !r.text) out(`    ${r.title ? isolate(r.title) : '(no title)'}`);
        if (r.posts.length) {
          out(`    ${r.posts.length} posts:`);
          for (const x of r.posts.slice(0, 20)) out(`      ${postSummary(x)}`);
          if (r.posts.length > 20) out(`      … ${r.posts.length - 20} more (exhibit show ${r.captureId})`);
        }
        if (r.tags.length) out(`    tags: ${r.tags.map((x) => isolate(x)).join(', ')}`);
        out(`    ${r.url}`);
      }
    return rows.length ? EXIT.OK : EXIT.NOT_FOUND;
  });
}

export interface CaseSummary {
  caseId: string;
  captures: number;
  sealed: number;
  failed: number;
  lastCaptureAt: string | null;
}

/** `exhibit cases`: every case in the store this command can read, with counts. */
export async function casesCommand(config: Config, json: boolean): Promise<ExitCode> {
  return withServices(config, async (s) => {
    const rows: CaseSummary[] = [];
    for (const [caseId, ids] of await sealedCapturesByCase(s.store)) {
      const row: CaseSummary = { caseId, captures: ids.length, sealed: 0, failed: 0, lastCaptureAt: null };
      for (const id of ids) {
        const { manifest: m } = await readManifest(s, caseId, id);
        if ((await readSealRecords(s.store, caseId, id)).timestamps.length > 0) row.sealed++;
        if (m.status === 'failed') row.failed++;
        if (!row.lastCaptureAt || m.environment.startedAt > row.lastCaptureAt) row.lastCaptureAt = m.environment.startedAt;
      }
      rows.push(row);
    }
    if (json) out(JSON.stringify(rows, null, 2));
    else if (rows.length === 0) out(`no cases in ${s.store.location}`);
    else {
      out(`${'case'.padEnd(24)} captures  sealed  failed  last capture`);
      for (const r of rows) out(`${r.caseId.padEnd(24)} ${String(r.captures).padStart(8)}  ${String(r.sealed).padStart(6)}  ${String(r.failed).padStart(6)}  ${r.lastCaptureAt ?? '—'}`);
    }
    return EXIT.OK;
  });
}
