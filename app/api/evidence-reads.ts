import { PermanentError } from '../../lib/errors.js';
import type { UserRecord } from '../../schemas/api.js';
import type { CustodyAction } from '../../schemas/custody.js';
import { StoredCaptureManifest, type CaptureManifest } from '../../schemas/manifest.js';
import { storeKeys } from '../../evidence/store.js';
import { captureIndexKey } from '../../workers/queues.js';
import type { Services } from '../../workers/runtime.js';
import { actorOf } from './actor.js';

/** Redis sorted set of captures submitted into a case through the API (score: submission time). */
export const caseCapturesKey = (prefix: string, caseId: string) => `${prefix}:api:case-captures:${caseId}`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The case a capture was submitted into, from its capture job; null when unknown. */
export async function caseOfCaptureJob(s: Services, captureId: string): Promise<string | null> {
  if (!UUID.test(captureId)) return null;
  const jobId = await s.redis.hget(captureIndexKey(s.config.redis.prefix), captureId);
  const job = jobId ? await s.queues.capture.getJob(jobId) : undefined;
  return (job?.data as { request?: { caseId?: string } } | undefined)?.request?.caseId ?? null;
}

/** Whether a capture belongs to a case (sealed in it, or submitted into it). */
export async function captureInCase(s: Services, caseId: string, captureId: string): Promise<boolean> {
  if (!UUID.test(captureId)) return false;
  if (await s.store.stat(storeKeys.manifest(caseId, captureId))) return true;
  return (await caseOfCaptureJob(s, captureId)) === caseId;
}

/** The sealed manifest and its exact bytes; NOT_FOUND when the capture is not (yet) sealed in the case. */
export async function loadManifest(s: Services, caseId: string, captureId: string): Promise<{ manifest: CaptureManifest; bytes: Buffer }> {
  if (!UUID.test(captureId)) throw new PermanentError('NOT_FOUND', `no capture ${captureId} in case ${caseId}`);
  const key = storeKeys.manifest(caseId, captureId);
  if (!(await s.store.stat(key))) throw new PermanentError('NOT_FOUND', `no sealed capture ${captureId} in case ${caseId}`);
  const bytes = await s.store.getBytes(key);
  return { manifest: StoredCaptureManifest.parse(JSON.parse(bytes.toString('utf8'))), bytes };
}

/**
 * Put a read of evidence on the case's custody log, naming the user. Called before the data is
 * sent: when the event cannot be recorded, the read fails (no unrecorded access).
 */
export async function recordRead(
  s: Services,
  user: UserRecord,
  caseId: string,
  action: Extract<CustodyAction, 'viewed' | 'downloaded' | 'verified'>,
  subject: { captureId?: string; digests?: string[] },
  details: Record<string, unknown>,
): Promise<number> {
  const { event } = await s.custody.append({ caseId, actor: actorOf(user), action, subject, details: { via: 'api', ...details } });
  return event.seq;
}
