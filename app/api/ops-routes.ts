import type { Env, Hono } from 'hono';
import { registry } from '../../lib/metrics.js';
import { exposeQueueMetrics } from '../../workers/metrics.js';
import type { Services } from '../../workers/runtime.js';

/** A key no object has (the digest of nothing stored): a stat of it is a cheap round trip to the store. */
const PROBE_KEY = `sha256/${'0'.repeat(64)}`;

/** Redis and the evidence store each answer, within their request timeouts. */
export async function readiness(s: Services): Promise<{ ready: boolean; redis: string; store: string }> {
  const [redis, store] = await Promise.all([
    s.redis.ping().then(
      (p) => (p === 'PONG' ? 'ok' : `unexpected answer ${p}`),
      (err: unknown) => `unreachable: ${(err as Error).message}`,
    ),
    s.store.stat(PROBE_KEY).then(
      () => 'ok',
      (err: unknown) => `unreachable: ${(err as Error).message}`,
    ),
  ]);
  return { ready: redis === 'ok' && store === 'ok', redis, store };
}

/**
 * Operations endpoints, unauthenticated like any scrape target (they carry counts, never evidence):
 * `/metrics` (Prometheus text), `/healthz` (the process answers), `/readyz` (Redis and the store
 * answer: 200, else 503 naming which did not).
 */
export function mountOpsRoutes<E extends Env>(app: Hono<E>, s: Services): void {
  exposeQueueMetrics(s.queues);
  app.get('/metrics', async (c) => c.body(await registry.metrics(), 200, { 'Content-Type': registry.contentType }));
  app.get('/healthz', (c) => c.json({ ok: true }));
  app.get('/readyz', async (c) => {
    const r = await readiness(s);
    return c.json(r, r.ready ? 200 : 503);
  });
}
