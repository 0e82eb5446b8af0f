/**
 * Custody elision: a package of chosen captures carries only the custody events of what it
 * discloses. Every other event of the case (another target's request and URL, every read of
 * another capture, other packages) becomes an elided line: `{schemaVersion, caseId, seq, prevHash,
 * hash}`, nothing else (schemas/custody.ts `ElidedCustodyEvent`).
 *
 * Why the chain still checks end to end: every disclosed event is whole and its hash recomputes;
 * its `prevHash` must equal the hash on the line before (elided or not), and the last line must
 * equal the signed, timestamped head. So an elided event's hash is bound by the event after it,
 * and the head by its signature. What the recipient cannot check is the content of a hidden event
 * — which is the point — nor, inside a run of several elided events, the earlier hashes of the
 * run beyond their linking (they are bound when the sender later discloses those events: the same
 * events recompute to the same hashes under the same signed head).
 *
 * What is disclosed: events whose subject is a disclosed capture; a `request-submitted` that names
 * only disclosed captures (a list request naming others is elided whole, since its details hold
 * their URLs); the package's own `packaged` event (and `shared` event, for a share). A whole-case package discloses every event.
 */
import { ElidedCustodyEvent, type CustodyEvent } from '../schemas/custody.js';
import { canonicalBytes } from './canonical.js';
import type { StoredEvent } from './custody.js';

/** What a package discloses: its captures and its own package id. */
export interface Disclosure {
  captureIds: ReadonlySet<string>;
  packageId: string;
}

/** Whether a package disclosing `d` carries event `e` whole. */
export function disclosesEvent(e: CustodyEvent, d: Disclosure): boolean {
  if (e.subject.captureId) return d.captureIds.has(e.subject.captureId);
  if (e.action === 'request-submitted') {
    const named = Array.isArray(e.details.captures) ? e.details.captures.map((c) => (c && typeof c === 'object' ? (c as Record<string, unknown>).captureId : undefined)) : [];
    return named.length > 0 && named.every((id) => typeof id === 'string' && d.captureIds.has(id));
  }
  if (e.action === 'packaged' || e.action === 'shared') return e.details.packageId === d.packageId;
  return false;
}

/** The elided line of an event: the exact canonical bytes of its stub. */
export function elidedBytes(e: CustodyEvent): Buffer {
  return canonicalBytes(ElidedCustodyEvent.parse({ schemaVersion: 'exhibit.custody-elided/1', caseId: e.caseId, seq: e.seq, prevHash: e.prevHash, hash: e.hash }));
}

export interface ElidedLog {
  /** One line per event of the log, in seq order: the stored bytes, or the elided stub. */
  lines: Buffer[];
  /** The events carried whole. */
  disclosed: StoredEvent[];
  /** Seqs of the elided events. */
  elided: number[];
}

/** The log as a package discloses it; `d` null discloses everything (a whole-case package). */
export function elideLog(events: readonly StoredEvent[], d: Disclosure | null): ElidedLog {
  const lines: Buffer[] = [];
  const disclosed: StoredEvent[] = [];
  const elided: number[] = [];
  for (const s of events) {
    if (!d || disclosesEvent(s.event, d)) {
      lines.push(s.bytes);
      disclosed.push(s);
    } else {
      lines.push(elidedBytes(s.event));
      elided.push(s.event.seq);
    }
  }
  return { lines, disclosed, elided };
}
