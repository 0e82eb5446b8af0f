/**
 * The case graphs of one process, kept up to date as captures seal: each case's graph remembers the
 * captures it has read (folded in or skipped) and the last custody sequence number it has read, and
 * on every read adds only what is new. `CaseGraph.addCapture` is order-independent, so the result
 * equals a full build from the store (`buildCaseGraph`; test/unit/analysis/live-graph.test.ts).
 *
 * Captures are write-once, so a capture read once never has to be read again; a capture whose
 * post.json does not match its sealed digest throws (IntegrityError) and leaves the graph as it was,
 * so the next read tries it again.
 */
import { mapLimit } from '../lib/concurrency.js';
import type { CustodyEvent } from '../schemas/custody.js';
import { storedEventsAfter } from '../evidence/custody.js';
import type { EvidenceStore } from '../evidence/store.js';
import { CaseGraph, type CaseGraphOptions, type SealedPost } from './case-graph.js';
import { isSkipped, readSealedPost, sealedCaptureIds, type SkippedCapture } from './sealed-posts.js';

/** Where a live graph reads from: the evidence store, or a stand-in in unit tests. */
export interface SealedSource {
  captureIds(caseId: string): Promise<string[]>;
  readPost(caseId: string, captureId: string): Promise<SealedPost | SkippedCapture>;
  eventsAfter(caseId: string, seq: number): Promise<CustodyEvent[]>;
}

export function storeSource(store: EvidenceStore): SealedSource {
  return {
    captureIds: (caseId) => sealedCaptureIds(store, caseId),
    readPost: (caseId, captureId) => readSealedPost(store, caseId, captureId),
    eventsAfter: (caseId, seq) => storedEventsAfter(store, caseId, seq),
  };
}

interface LiveCase {
  graph: CaseGraph;
  /** Capture ids read, folded in or skipped. */
  read: Set<string>;
  skipped: SkippedCapture[];
  /** Last custody sequence number read (assertions are custody events). */
  seq: number;
  queue: Promise<unknown>;
}

export interface LiveGraphRead {
  graph: CaseGraph;
  skipped: SkippedCapture[];
  /** Captures folded in by this read. */
  added: number;
}

export class LiveCaseGraphs {
  private readonly cases = new Map<string, LiveCase>();

  /** `maxCases`: graphs kept in memory; the least recently read is dropped (and rebuilt when read again). */
  constructor(
    private readonly source: SealedSource,
    private readonly opts: CaseGraphOptions & { maxCases?: number } = {},
  ) {}

  /**
   * The case's graph, caught up with the store. One catch-up per case at a time; the caller reads
   * the graph synchronously after the promise resolves (a later catch-up only adds to it).
   */
  read(caseId: string): Promise<LiveGraphRead> {
    let c = this.cases.get(caseId);
    if (c) this.cases.delete(caseId); // re-inserted below: Map order is the recency order
    c ??= { graph: new CaseGraph(this.opts), read: new Set(), skipped: [], seq: 0, queue: Promise.resolve() };
    this.cases.set(caseId, c);
    for (const old of this.cases.keys()) {
      if (this.cases.size <= (this.opts.maxCases ?? 8)) break;
      this.cases.delete(old);
    }
    const live = c;
    const run = live.queue.then(() => this.catchUp(caseId, live));
    live.queue = run.catch(() => undefined);
    return run;
  }

  private async catchUp(caseId: string, c: LiveCase): Promise<LiveGraphRead> {
    const ids = (await this.source.captureIds(caseId)).filter((id) => !c.read.has(id));
    // Read everything new before adding anything: a failed read leaves the graph as it was.
    const posts = await mapLimit(ids, 16, (id) => this.source.readPost(caseId, id));
    const events = await this.source.eventsAfter(caseId, c.seq);
    let added = 0;
    for (const p of posts) {
      if (isSkipped(p)) c.skipped.push(p);
      else if (c.graph.addCapture(p)) added++;
      c.read.add(p.captureId);
    }
    for (const e of events) {
      c.graph.addAssertion(e);
      c.seq = Math.max(c.seq, e.seq);
    }
    return { graph: c.graph, skipped: [...c.skipped].sort((a, b) => (a.captureId < b.captureId ? -1 : 1)), added };
  }
}
