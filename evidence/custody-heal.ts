/**
 * Heads that heal: a head signed while no TSA answered is stored without a token. Once a TSA answers
 * again, `completeHeadTokens` timestamps such earlier heads (their stored bytes, unchanged), so the
 * store's record of the log is timestamped end to end. Packages never depend on it: they leave
 * untimestamped heads out. The token's time is when it was obtained, later than the head's own
 * `time`, and says so: a head is shown to exist no later than its token's time.
 */
import type { Logger } from 'pino';
import type { Clock } from '../lib/clock.js';
import { ExhibitError } from '../lib/errors.js';
import { TimestampRecord } from '../schemas/custody.js';
import { sha256Digest } from './canonical.js';
import { custodyKeys, seqName, type CustodyLog } from './custody.js';
import { recordBytes } from './signing.js';
import type { EvidenceStore } from './store.js';
import { timestampDigest, type TimestampDeps, type TsaEndpoint } from './timestamp.js';

/** Heads completed in one call, at most: each is a TSA round trip. @defaultValue 16 */
export const MAX_HEADS_HEALED = 16;

export async function completeHeadTokens(
  custody: CustodyLog,
  caseId: string,
  deps: { store: EvidenceStore; clock: Clock; tsas: TsaEndpoint[]; timestamp: Omit<TimestampDeps, 'clock' | 'logger'>; logger?: Logger; max?: number },
): Promise<number[]> {
  if (deps.tsas.length === 0) return [];
  const missing = (await custody.readHeads(caseId)).filter((h) => h.tokens.length === 0).slice(0, deps.max ?? MAX_HEADS_HEALED);
  const healed: number[] = [];
  for (const h of missing) {
    const seq = h.head.seq;
    const outcome = await timestampDigest(sha256Digest(h.headBytes), deps.tsas, { ...deps.timestamp, clock: deps.clock, ...(deps.logger ? { logger: deps.logger } : {}) });
    if (outcome.tokens.length === 0) break; // the TSA is down again: try next time
    let n = 0;
    for (const tok of outcome.tokens) {
      n++;
      try {
        await deps.store.putRecord(custodyKeys.headToken(caseId, seq, n), tok.tsr, { contentType: 'application/timestamp-reply' });
        await deps.store.putRecord(custodyKeys.headTimestamp(caseId, seq, n), recordBytes(TimestampRecord.parse({ ...tok.record, token: `${seqName(seq)}.timestamp-${n}.tsr` })), { contentType: 'application/json' });
      } catch (err) {
        // Another signer completed this head first: its token stands.
        if (err instanceof ExhibitError && err.code === 'STORE_CONFLICT') break;
        throw err;
      }
    }
    healed.push(seq);
  }
  if (healed.length) deps.logger?.info({ context: 'custody', caseId, healed }, 'custody heads signed without a token are now timestamped');
  return healed;
}
