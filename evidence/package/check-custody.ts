/**
 * Custody checks: the log's seq 1..n is contiguous, prevHash links and hashes recompute over
 * canonical bytes; each signed head matches the event at its seq, is signed and timestamped; the
 * log does not end before the last signed head (truncation); every packaged capture appears in it.
 * A package of chosen captures may carry elided lines (hash only) for the events it does not
 * disclose (evidence/custody-elide.ts); the chain links through them.
 */
import { CustodyEvent, CustodyHead, ElidedCustodyEvent } from '../../schemas/custody.js';
import { sha256Digest } from '../canonical.js';
import { verifyChain } from '../custody.js';
import { errMsg, type BagContext, type VerifyResult } from './checks.js';
import type { SignatureChecks } from './check-signatures.js';
import { bagPaths } from './layout.js';

interface CustodyLogFacts {
  /** Events by line; null where a line does not parse or is elided. */
  events: Array<CustodyEvent | null>;
  /** Seq and hash by line (events and elided events); null where a line does not parse. */
  links: Array<{ seq: number; hash: string } | null>;
  /** Seqs of the elided lines. */
  elided: number[];
  chainIntact: boolean;
  lastSeq: number;
}

/** data/custody/events.jsonl, its hash chain checked; null (a failing check) when it is missing. */
async function readCustodyLog({ fileSet, read, report: r }: BagContext, caseId: string | null, result: VerifyResult): Promise<CustodyLogFacts | null> {
  if (!fileSet.has(bagPaths.events)) {
    r.fail(bagPaths.events, 'custody', 'custody log missing');
    return null;
  }
  const text = await read(bagPaths.events);
  const lines = text.toString('utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  else r.fail(bagPaths.events, 'custody', 'custody log does not end with a newline');
  result.events = lines.length;
  const chainProblems = caseId ? verifyChain(caseId, lines.map((l) => Buffer.from(l, 'utf8')), { allowElided: true }) : [];
  for (const p of chainProblems) r.fail(`${bagPaths.events}#line${p.index + 1}`, 'custody-chain', `${p.seq !== null ? `event seq ${p.seq}: ` : ''}${p.message}`);
  const parsed = lines.map((l) => {
    try {
      const json: unknown = JSON.parse(l);
      const e = ElidedCustodyEvent.safeParse(json);
      if (e.success) return { event: null, link: { seq: e.data.seq, hash: e.data.hash } };
      const full = CustodyEvent.parse(json);
      return { event: full, link: { seq: full.seq, hash: full.hash } };
    } catch {
      return { event: null, link: null };
    }
  });
  const events = parsed.map((p) => p.event);
  const links = parsed.map((p) => p.link);
  const elided = parsed.flatMap((p) => (p.event === null && p.link ? [p.link.seq] : []));
  if (caseId && chainProblems.length === 0) {
    r.pass(bagPaths.events, 'custody-chain', `${lines.length} events, contiguous and hash-linked${elided.length ? ` (${elided.length} elided to their hashes: not disclosed by this package)` : ''}`);
  }
  const lastSeq = links.length ? (links[links.length - 1]?.seq ?? links.length) : 0;
  return { events, links, elided, chainIntact: chainProblems.length === 0, lastSeq };
}

/** One signed head: its seq, and whether it covers the log (signed, timestamped, matching an intact chain). */
async function checkHead(ctx: BagContext, hp: string, log: CustodyLogFacts, caseId: string | null, sigs: SignatureChecks): Promise<{ seq: number; covers: boolean } | null> {
  const { read, payloadFiles, report: r } = ctx;
  const bytes = await read(hp);
  let head: CustodyHead;
  try {
    head = CustodyHead.parse(JSON.parse(bytes.toString('utf8')));
  } catch (err) {
    r.fail(hp, 'custody-head', `not a custody head: ${errMsg(err)}`);
    return null;
  }
  const seq12 = hp.slice(-17, -5);
  if (Number(seq12) !== head.seq) r.fail(hp, 'custody-head', `file name says seq ${Number(seq12)}, head says ${head.seq}`);
  if (caseId && head.caseId !== caseId) r.fail(hp, 'custody-head', `head is for case ${head.caseId}`);
  const digest = sha256Digest(bytes);
  const headSigner = await sigs.checkSignature(`custody head ${head.seq}`, bagPaths.headSig(head.seq), bagPaths.headSignature(head.seq), digest);
  const tokens = payloadFiles.filter((f) => f.startsWith(`data/custody/heads/${seq12}.timestamp-`) && f.endsWith('.tsr')).sort();
  const stamped = await sigs.checkTokens(tokens, digest, hp, (t) => t.replace(/\.tsr$/, '.json'));
  if (head.seq === 0) return { seq: head.seq, covers: false };
  const ev = log.links[head.seq - 1];
  if (!ev || ev.seq !== head.seq) r.fail(hp, 'custody-head', `signed head names event ${head.seq}, which is not in the log (log ends at ${log.lastSeq}): truncated or reordered`);
  else if (ev.hash !== head.hash) r.fail(hp, 'custody-head', `signed head says event ${head.seq} has hash ${head.hash}, the log has ${ev.hash}: the log was rewritten`);
  else {
    r.pass(hp, 'custody-head', `signed head matches event ${head.seq}`);
    return { seq: head.seq, covers: !!headSigner && stamped > 0 && log.chainIntact && (!caseId || head.caseId === caseId) };
  }
  return { seq: head.seq, covers: false };
}

/**
 * Every signed head, and whether the log reaches the last. Returns the highest head that is signed,
 * timestamped and matches the log: events up to it are authentic as far as the head's signer and TSA are.
 */
async function checkHeads(ctx: BagContext, log: CustodyLogFacts, caseId: string | null, sigs: SignatureChecks): Promise<number> {
  const r = ctx.report;
  const headFiles = ctx.payloadFiles.filter((f) => /^data\/custody\/heads\/\d{12}\.json$/.test(f)).sort();
  if (headFiles.length === 0) r.fail('data/custody/heads/', 'custody-head', 'no signed custody head');
  let lastHeadSeq = 0;
  let coveredSeq = 0;
  for (const hp of headFiles) {
    const h = await checkHead(ctx, hp, log, caseId, sigs);
    if (!h) continue;
    lastHeadSeq = Math.max(lastHeadSeq, h.seq);
    if (h.covers) coveredSeq = Math.max(coveredSeq, h.seq);
  }
  if (log.lastSeq < lastHeadSeq) r.fail(bagPaths.events, 'custody-truncation', `log ends at event ${log.lastSeq}, before the last signed head ${lastHeadSeq}: events were removed`);
  else if (headFiles.length) r.pass(bagPaths.events, 'custody-truncation', `log reaches the last signed head (${lastHeadSeq})`);
  return coveredSeq;
}

/**
 * The custody log and its signed heads; null when the package has no log (a failing check).
 * Returns the events that parse and the seq up to which a signed, timestamped head covers them.
 */
export async function checkCustody(
  ctx: BagContext,
  opts: { caseId: string | null; captureDirs: string[]; sigs: SignatureChecks; result: VerifyResult },
): Promise<{ events: CustodyEvent[]; coveredSeq: number; elided: number[] } | null> {
  const log = await readCustodyLog(ctx, opts.caseId, opts.result);
  if (!log) return null;
  const coveredSeq = await checkHeads(ctx, log, opts.caseId, opts.sigs);
  const inLog = new Set(log.events.flatMap((e) => (e?.subject.captureId ? [e.subject.captureId] : [])));
  for (const id of opts.captureDirs) {
    if (inLog.has(id)) ctx.report.pass(bagPaths.captureDir(id), 'custody-capture', 'capture appears in the custody log');
    else ctx.report.fail(bagPaths.captureDir(id), 'custody-capture', `capture ${id} does not appear in the custody log`);
  }
  return { events: log.events.filter((e): e is CustodyEvent => e !== null), coveredSeq, elided: log.elided };
}
