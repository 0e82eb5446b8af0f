/**
 * Packages received from partners and carried onward whole (data/received/<sha256>/package.zip,
 * build-received.ts). Each must: hash to its name; verify on its own (the origin's captures,
 * custody segment, signatures, tokens and seal), with the same pinned anchors — its signers and TSA
 * roots count towards this package's verdict; match its import record (origin case, captures,
 * signed head); and be handed over: for each of its captures, a `received` event of this package's
 * log, covered by a signed and timestamped head, names the package digest, the import record's
 * digest and the origin's head. Received packages nest (re-sharing onward) up to MAX_DEPTH.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Clock } from '../../lib/clock.js';
import type { CustodyEvent, PackageReport } from '../../schemas/custody.js';
import { ImportRecord } from '../../schemas/share.js';
import { sha256Digest } from '../canonical.js';
import { errMsg, type BagContext } from './checks.js';
import type { TrustTracker } from './check-trust.js';
import { bagPaths } from './layout.js';

/** How deep received packages may nest (A → B → C → D). */
export const MAX_DEPTH = 4;

type HandOver = NonNullable<PackageReport['handOvers']>[number];
type VerifyFn = (source: string, depth: number) => Promise<PackageReport>;

export async function checkReceived(
  ctx: BagContext,
  o: { events: CustodyEvent[]; coveredSeq: number; trust: TrustTracker; depth: number; clock: Clock; verify: VerifyFn },
): Promise<HandOver[]> {
  const r = ctx.report;
  const out: HandOver[] = [];
  const zips = ctx.payloadFiles.filter((f) => /^data\/received\/[0-9a-f]{64}\/package\.zip$/.test(f)).sort();
  for (const f of ctx.payloadFiles) if (f.startsWith('data/received/') && !/^data\/received\/[0-9a-f]{64}\/(package\.zip|record\.json)$/.test(f)) r.fail(f, 'received-package', 'not a received package or its import record');
  for (const zp of zips) {
    const want = `sha256:${zp.split('/')[2]}`;
    const rp = bagPaths.receivedRecord(want);
    const bytes = await ctx.read(zp);
    const sha = sha256Digest(bytes);
    if (sha !== want) {
      r.fail(zp, 'received-package', `the received package hashes to ${sha}, its name says ${want}`);
      continue;
    }
    let record: ImportRecord;
    let recordDigest: string;
    try {
      const rb = await ctx.read(rp);
      recordDigest = sha256Digest(rb);
      record = ImportRecord.parse(JSON.parse(rb.toString('utf8')));
    } catch (err) {
      r.fail(rp, 'received-package', `import record missing or invalid: ${errMsg(err).slice(0, 300)}`);
      continue;
    }
    if (record.package.sha256 !== sha) r.fail(rp, 'received-package', `the import record is for package ${record.package.sha256}`);
    if (o.depth + 1 > MAX_DEPTH) {
      r.fail(zp, 'received-package', `received packages nest deeper than ${MAX_DEPTH}`);
      continue;
    }
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'exhibit-received-'));
    let inner: PackageReport;
    try {
      const file = path.join(tmp, 'package.zip');
      await writeFile(file, bytes);
      inner = await o.verify(file, o.depth + 1);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
    // The origin's signers and TSA roots are relied on too: pinned or not, they decide the verdict.
    for (const k of inner.trust.signingKeys) if (k.source !== 'rotation') o.trust.signer(k.fingerprint);
    for (const t of inner.trust.tsaRoots) o.trust.root({ pem: '', fingerprint: t.fingerprint, subject: t.subject ?? '' });
    if (inner.verdict === 'failed') r.fail(zp, 'received-package', `the package received from ${record.partner.name} does not verify: ${inner.failures.slice(0, 5).map((x) => `${x.item}: ${x.message}`).join('; ')}`);
    else r.pass(zp, 'received-package', `the package received from ${record.partner.name} (${record.origin.organization}, case ${inner.caseId}) verifies on its own: ${inner.captureIds.length} capture(s), ${inner.custodyEvents} custody events up to head ${inner.custodyHead?.seq ?? '?'}`);
    if (inner.caseId !== record.origin.caseId) r.fail(rp, 'received-package', `the import record names origin case ${record.origin.caseId}, the package is case ${inner.caseId}`);
    if (JSON.stringify([...inner.captureIds].sort()) !== JSON.stringify(record.captures.map((c) => c.captureId).sort())) r.fail(rp, 'received-package', 'the import record and the package hold different captures');
    if (inner.custodyHead && (inner.custodyHead.seq !== record.origin.head.seq || inner.custodyHead.hash !== record.origin.head.hash)) r.fail(rp, 'received-package', `the import record names origin head ${record.origin.head.seq}, the package ends at ${inner.custodyHead.seq}`);
    const seqs: number[] = [];
    for (const c of record.captures) {
      const ev = o.events.find((e) => e.action === 'received' && e.subject.captureId === c.captureId && e.details.packageSha256 === sha);
      const head = ev?.details.originHead as { seq?: unknown; hash?: unknown } | undefined;
      if (!ev) r.fail(zp, 'hand-over', `capture ${c.captureId}: no received event in this package's custody log names this package`);
      else if (ev.seq > o.coveredSeq) r.fail(zp, 'hand-over', `capture ${c.captureId}: received event ${ev.seq} is not covered by a signed and timestamped head`);
      else if (ev.details.importRecordDigest !== recordDigest) r.fail(rp, 'hand-over', `capture ${c.captureId}: received event ${ev.seq} records import record ${String(ev.details.importRecordDigest)}, the package holds ${recordDigest}`);
      else if (head?.seq !== record.origin.head.seq || head?.hash !== record.origin.head.hash) r.fail(zp, 'hand-over', `capture ${c.captureId}: received event ${ev.seq} names another origin head`);
      else {
        seqs.push(ev.seq);
        r.pass(zp, 'hand-over', `capture ${c.captureId}: handed over from ${record.partner.name}'s head ${record.origin.head.seq} to received event ${ev.seq} of this log`);
      }
    }
    out.push({
      depth: 1,
      from: record.partner.name, originOrganization: record.origin.organization, originCaseId: record.origin.caseId, originHead: record.origin.head,
      packageSha256: sha, captureIds: record.captures.map((c) => c.captureId), verdict: inner.verdict, receivedEvents: seqs, custodyEvents: inner.custodyEvents,
    });
    for (const h of inner.handOvers ?? []) out.push({ ...h, depth: h.depth + 1 });
  }
  return out;
}
