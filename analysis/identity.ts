/**
 * Analyst identity assertions: "these two accounts are the same person" or "are linked". Never
 * inferred: only an analyst states one, with a reason, and it is recorded as an `identity-asserted`
 * custody event (so it is hash-chained, attributable and exported as asserted-by-analyst).
 */
import { PermanentError } from '../lib/errors.js';
import type { CustodyActor } from '../schemas/custody.js';
import { IdentityAssertionDetails } from '../schemas/graph.js';
import { sha256Digest } from '../evidence/canonical.js';
import type { AppendResult, CustodyLog } from '../evidence/custody.js';
import type { CaseGraph } from './case-graph.js';

export interface IdentityAssertion {
  caseId: string;
  actor: CustodyActor;
  kind: 'same' | 'linked';
  accounts: [string, string];
  reason: string;
}

/** Resolve what the analyst typed (a node id, an account id or a handle) to one account node of the graph. */
export function resolveAccount(graph: CaseGraph, ref: string): string {
  if (graph.nodes.get(ref)?.kind === 'account' || graph.nodes.get(ref)?.kind === 'channel') return ref;
  const handle = ref.replace(/^@/, '').toLowerCase();
  const hits = [...graph.nodes.values()].filter((n) => (n.kind === 'account' || n.kind === 'channel') && (n.attrs.accountId === ref || [...n.handles.values()].some((h) => h.value.replace(/^@/, '').toLowerCase() === handle)));
  if (hits.length === 1) return hits[0]!.id;
  if (hits.length === 0) throw new PermanentError('NOT_FOUND', `no account ${ref} in the case graph`);
  throw new PermanentError('INVALID_INPUT', `${ref} names ${hits.length} accounts (${hits.map((h) => h.id).join(', ')}); give the node id`);
}

/** Append the assertion to the case's custody log; the same assertion (same accounts, kind, reason, analyst) twice is one event. */
export async function assertIdentity(custody: CustodyLog, a: IdentityAssertion): Promise<AppendResult> {
  if (a.accounts[0] === a.accounts[1]) throw new PermanentError('INVALID_INPUT', 'an identity assertion needs two different accounts');
  const accounts = [...a.accounts].sort() as [string, string];
  const details = IdentityAssertionDetails.parse({ kind: a.kind, accounts, reason: a.reason });
  return custody.append({
    caseId: a.caseId,
    actor: a.actor,
    action: 'identity-asserted',
    details,
    idempotencyKey: `identity:${a.kind}:${accounts.join('|')}:${a.actor.id}:${sha256Digest(Buffer.from(a.reason, 'utf8'))}`,
  });
}
