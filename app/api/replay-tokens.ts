import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Services } from '../../workers/runtime.js';

/**
 * Short-lived tokens with which the replay origin reads one capture's archive. A token is scoped
 * to one artifact of one capture, allows reads only (the replay origin has no other routes) and
 * expires by itself (Redis TTL). Only its SHA-256 is stored, so a Redis dump holds no usable token.
 * It is never the session: the replay origin ignores cookies altogether.
 */
export const ReplayGrant = z.object({
  caseId: z.string(),
  captureId: z.string(),
  /** Artifact name, store key, digest and size, as the sealed manifest gave them when the token was made. */
  artifact: z.object({ name: z.string(), storeKey: z.string(), sha256: z.string(), size: z.number().int().nonnegative(), mediaType: z.string() }),
  pageUrl: z.string(),
  /** The web app's origin: the only page allowed to frame the viewer. */
  appOrigin: z.string(),
  user: z.string(),
  expiresAt: z.string(),
});
export type ReplayGrant = z.infer<typeof ReplayGrant>;

const TOKEN = /^[A-Za-z0-9_-]{43}$/;
const keyOf = (s: Services, token: string) => `${s.config.redis.prefix}:api:replay-token:${createHash('sha256').update(token).digest('hex')}`;

export async function issueReplayToken(s: Services, grant: Omit<ReplayGrant, 'expiresAt'>, ttlSeconds: number): Promise<{ token: string; expiresAt: string }> {
  const token = randomBytes(32).toString('base64url');
  const expiresAt = new Date(s.clock.now().getTime() + ttlSeconds * 1000).toISOString();
  await s.redis.set(keyOf(s, token), JSON.stringify({ ...grant, expiresAt }), 'EX', ttlSeconds);
  return { token, expiresAt };
}

/** The grant of a live token, or null (malformed, unknown or expired). */
export async function resolveReplayToken(s: Services, token: string): Promise<ReplayGrant | null> {
  if (!TOKEN.test(token)) return null;
  const raw = await s.redis.get(keyOf(s, token));
  if (!raw) return null;
  const parsed = ReplayGrant.safeParse(JSON.parse(raw));
  return parsed.success ? parsed.data : null;
}
