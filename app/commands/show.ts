import { PermanentError } from '../../lib/errors.js';
import type { Config } from '../../schemas/config.js';
import { StoredCaptureManifest, type CaptureManifest } from '../../schemas/manifest.js';
import { readSealRecords } from '../../evidence/signing.js';
import { storeKeys } from '../../evidence/store.js';
import type { Services } from '../../workers/runtime.js';
import { captureIndexKey } from '../../workers/queues.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { out, withServices } from './common.js';

/** Which case a capture belongs to: from its job, else by looking through the store. */
export async function findCaptureCase(s: Services, captureId: string): Promise<string> {
  const jobId = await s.redis.hget(captureIndexKey(s.config.redis.prefix), captureId);
  const job = jobId ? await s.queues.capture.getJob(jobId) : undefined;
  const fromJob = (job?.data as { request?: { caseId?: string } } | undefined)?.request?.caseId;
  if (fromJob) return fromJob;
  const suffix = `/captures/${captureId}/manifest.json`;
  const hit = (await s.store.list(storeKeys.cases())).find((k) => k.endsWith(suffix));
  if (hit) return hit.split('/')[1]!;
  throw new PermanentError('NOT_FOUND', `no capture ${captureId} in ${s.store.location}`);
}

export async function readManifest(s: Services, caseId: string, captureId: string): Promise<{ manifest: CaptureManifest; bytes: Buffer }> {
  const key = storeKeys.manifest(caseId, captureId);
  if (!(await s.store.stat(key))) throw new PermanentError('NOT_FOUND', `capture ${captureId} of case ${caseId} has no sealed manifest (yet) in ${s.store.location}`);
  const bytes = await s.store.getBytes(key);
  return { manifest: StoredCaptureManifest.parse(JSON.parse(bytes.toString('utf8'))), bytes };
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
    const p = m.page;
    const e = m.environment;
    out(`Capture ${m.captureId}  (case ${m.caseId})`);
    out(`  URL          ${m.request.url}`);
    out(`  Final URL    ${p.finalUrl ?? '—'}${p.redirects.length ? `  (${p.redirects.length} redirect${p.redirects.length > 1 ? 's' : ''})` : ''}`);
    out(`  Status       ${m.status}${p.status ? `, HTTP ${p.status}` : ''}${m.failure ? ` — ${m.failure.code}: ${m.failure.message}` : ''}`);
    out(`  Title        ${p.title ?? '—'}${p.lang ? `  [lang=${p.lang}${p.dir ? `, dir=${p.dir}` : ''}]` : ''}`);
    out(`  Operator     ${m.request.requestedBy}${m.request.legalBasis ? `   legal basis: ${m.request.legalBasis}` : ''}`);
    out(`  Captured     ${e.startedAt} → ${e.finishedAt}   sealed ${m.sealedAt}`);
    out(`  Server       ${p.remoteIp ?? '—'}${p.dns ? `   DNS ${p.dns.host} → ${p.dns.addresses.join(', ') || p.dns.error}` : ''}`);
    if (p.tls) out(`  TLS          ${p.tls.protocol ?? '?'} ${p.tls.cipher ?? ''}  subject ${p.tls.subject ?? '?'}  issuer ${p.tls.issuer ?? '?'}  valid ${p.tls.validFrom ?? '?'} – ${p.tls.validTo ?? '?'}${p.tls.authorized ? '' : `  (NOT trusted: ${p.tls.authorizationError ?? 'unknown'})`}`);
    out(`  Browser      ${e.browserVersion} via playwright-core ${e.playwrightVersion}; ${e.viewport.width}×${e.viewport.height} ${e.locale} ${e.timezone}`);
    out(`  Host         ${e.hostname}; egress IP ${e.network.egressIp ?? `unknown${e.network.egressIpError ? ` (${e.network.egressIpError})` : ''}`}${e.network.proxy ? `; proxy ${e.network.proxy}` : ''}`);
    out(`  Exhibit      ${e.exhibitVersion}${e.gitCommit ? ` (${e.gitCommit.slice(0, 12)})` : ''}; collector ${e.collector.id} ${e.collector.version}`);
    out(`  Signature    ${seal.signature ? `Ed25519 key ${seal.signature.keyFingerprint}` : 'none'}`);
    for (const t of seal.timestamps) out(`  Timestamp    ${t.record.genTime} from ${t.record.tsaName ?? t.record.tsaUrl} (local clock ${t.record.clockSkewMs >= 0 ? '+' : ''}${t.record.clockSkewMs} ms)`);
    if (seal.timestamps.length === 0) out('  Timestamp    none — UNSEALED');
    out(`  Artifacts    ${m.artifacts.length}`);
    for (const a of m.artifacts) {
      const derived = a.derivedFrom ? `  derived from ${a.derivedFrom.source} (${a.derivedFrom.method})` : '';
      out(`    ${a.role.padEnd(11)} ${a.name}  ${size(a.size)}  ${a.sha256}${derived}`);
      if (a.sourceUrl) out(`                from ${a.sourceUrl}`);
      for (const f of a.flags) out(`                ! ${f.code}: ${f.message}`);
    }
    const failed = m.enrichment.filter((x) => x.status === 'failed');
    for (const f of failed) out(`  ! ${f.step} of ${f.artifact} failed: ${f.message ?? ''}`);
    return EXIT.OK;
  });
}

export async function listCommand(config: Config, caseId: string, json: boolean): Promise<ExitCode> {
  return withServices(config, async (s) => {
    const keys = (await s.store.list(storeKeys.captures(caseId))).filter((k) => k.endsWith('/manifest.json'));
    const rows = [];
    for (const key of keys) {
      const captureId = key.split('/')[3]!;
      const { manifest: m } = await readManifest(s, caseId, captureId);
      const seal = await readSealRecords(s.store, caseId, captureId);
      rows.push({ captureId, sealedAt: m.sealedAt, status: m.status, sealed: seal.timestamps.length > 0, url: m.request.url, title: m.page.title, artifacts: m.artifacts.length, operator: m.request.requestedBy });
    }
    rows.sort((a, b) => a.sealedAt.localeCompare(b.sealedAt));
    if (json) out(JSON.stringify(rows, null, 2));
    else if (rows.length === 0) out(`no sealed captures in case ${caseId}`);
    else for (const r of rows) out(`${r.captureId}  ${r.sealedAt}  ${r.status.padEnd(8)} ${r.sealed ? 'sealed  ' : 'UNSEALED'}  ${String(r.artifacts).padStart(3)} artifacts  ${r.url}`);
    return rows.length ? EXIT.OK : EXIT.NOT_FOUND;
  });
}
