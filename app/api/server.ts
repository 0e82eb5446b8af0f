import path from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { serveStatic } from '@hono/node-server/serve-static';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { Hono } from 'hono';
import { z } from 'zod';
import { childLogger } from '../../lib/logger.js';
import { Health } from '../../schemas/api.js';
import type { Services } from '../../workers/runtime.js';
import { UserStore } from './users.js';
import { withWatchQueues } from '../../workers/watch.js';
import { authenticate, requirePermission } from './auth.js';
import { streamingBodyLimit } from './body-limit.js';
import type { ApiDeps, ApiEnv, ApiOptions } from './context.js';
import { errorHandler, HttpError } from './errors.js';
import { PackageJobs } from './package-jobs.js';
import { openApiDocument, RouteTable } from './route-table.js';
import { caseRoutes } from './routes/cases.js';
import { captureRoutes } from './routes/captures.js';
import { graphRoutes } from './routes/graph.js';
import { packageRoutes } from './routes/packages.js';
import { shareRoutes } from './routes/shares.js';
import { replayOriginFor, replayRoutes } from './routes/replay.js';
import { spreadsheetRoutes } from './routes/spreadsheets.js';
import { watchRoutes } from './routes/watches.js';
import { searchRoutes } from './routes/search.js';
import { userRoutes } from './routes/users.js';
import { mountOpsRoutes } from './ops-routes.js';
import { mountUi } from './static-ui.js';

/** Content-Security-Policy of our own pages: nothing inline, nothing from elsewhere. */
export const STRICT_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; media-src 'self'; connect-src 'self'; font-src 'self'; object-src 'none'; frame-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
/** bull-board's page needs inline styles (its scripts are still files of ours). */
const DASHBOARD_CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

export const QUEUE_DASHBOARD_PATH = '/admin/queues';

export interface Api {
  app: Hono<ApiEnv>;
  routes: RouteTable;
  deps: ApiDeps;
  /** Finish package builds, release the browser. Does not close the services. */
  close(): Promise<void>;
}

/** The HTTP API and web app over opened services. Call `app.request()` in tests, or `listen`. */
export function createApi(services: Services, options: ApiOptions = {}): Api {
  const logger = childLogger(services.logger, 'api');
  const opts: ApiDeps['options'] = {
    maxUploadBytes: options.maxUploadBytes ?? services.config.api.maxUploadBytes,
    maxBodyBytes: options.maxBodyBytes ?? services.config.api.maxBodyBytes,
    maxInflateRatio: options.maxInflateRatio ?? services.config.api.maxInflateRatio,
    signIn: { ...services.config.api.signIn, ...options.signIn },
    packagesDir: options.packagesDir ?? path.join(services.config.stateDir, 'api-packages'),
    sessionTtlSeconds: options.sessionTtlSeconds ?? 8 * 3600,
    secureCookies: options.secureCookies ?? false,
    queueDashboard: options.queueDashboard ?? true,
    progressIntervalMs: options.progressIntervalMs ?? 500,
    replay: {
      port: options.replay?.port ?? services.config.replay.port ?? 8081,
      publicOrigin: options.replay?.publicOrigin ?? services.config.replay.publicOrigin,
      tokenTtlSeconds: options.replay?.tokenTtlSeconds ?? services.config.replay.tokenTtlSeconds,
    },
  };
  const users = new UserStore({ redis: services.redis, clock: services.clock, prefix: services.config.redis.prefix });
  const packages = new PackageJobs(services, opts.packagesDir, logger);
  const watches = withWatchQueues(services);
  const deps: ApiDeps = { services, users, packages, watches, logger, options: opts };

  const app = new Hono<ApiEnv>();
  const table = new RouteTable(app, opts.maxBodyBytes);
  app.onError(errorHandler(logger));
  // First of all: no route, public or not, reads more of a body than its limit.
  app.use('*', streamingBodyLimit((c) => table.bodyLimitFor(c.req.method, c.req.path)));
  app.notFound((c) => c.json({ code: 'NOT_FOUND', message: `no route ${c.req.method} ${c.req.path}` }, 404));
  // Security headers on every answer; a route that sets its own CSP (artifacts) keeps it.
  app.use('*', async (c, next) => {
    await next();
    // The web app frames one thing: the replay viewer, on the replay origin (never its own).
    const csp = c.req.path.startsWith(QUEUE_DASHBOARD_PATH)
      ? DASHBOARD_CSP
      : c.req.path.startsWith('/ui/')
        ? STRICT_CSP.replace("frame-src 'none'", `frame-src ${replayOriginFor(new URL(c.req.url).origin, opts.replay)}`)
        : STRICT_CSP;
    const apply = (h: Headers) => {
      const set = (k: string, v: string) => {
        if (!h.has(k)) h.set(k, v);
      };
      set('Content-Security-Policy', csp);
      set('X-Content-Type-Options', 'nosniff');
      set('X-Frame-Options', 'DENY');
      set('Referrer-Policy', 'no-referrer');
      set('Cross-Origin-Opener-Policy', 'same-origin');
      set('Cross-Origin-Resource-Policy', 'same-origin');
      set('Permissions-Policy', 'camera=(), microphone=(), geolocation=(), payment=()');
      if (c.req.path.startsWith('/api/')) set('Cache-Control', 'no-store');
    };
    try {
      apply(c.res.headers);
    } catch {
      // Immutable headers (a Response passed through from elsewhere): answer with a copy.
      c.res = new Response(c.res.body, c.res);
      apply(c.res.headers);
    }
  });
  app.use('*', authenticate(users));

  table.def({ method: 'get', path: '/api/health', summary: 'Liveness: Redis and store reachable', tag: 'meta', access: 'public', response: Health }, async () => {
    const pong = await services.redis.ping().catch(() => 'down');
    return { ok: pong === 'PONG', redis: pong === 'PONG' ? 'ok' : 'unreachable', store: services.store.kind };
  });
  userRoutes(table, deps);
  caseRoutes(table, deps);
  captureRoutes(table, deps);
  graphRoutes(table, deps);
  packageRoutes(table, deps);
  shareRoutes(table, deps);
  replayRoutes(table, deps);
  watchRoutes(table, deps);
  spreadsheetRoutes(table, deps);
  searchRoutes(table, deps);
  table.def({ method: 'get', path: '/openapi.json', summary: 'This OpenAPI 3.1 document', tag: 'meta', access: 'public', response: z.record(z.string(), z.unknown()) }, async () =>
    openApiDocument(table.routes, { version: services.software.exhibitVersion }),
  );

  mountOpsRoutes(app, services);
  if (opts.queueDashboard) mountQueueDashboard(app, services);
  mountUi(app);

  return {
    app,
    routes: table,
    deps,
    close: async () => {
      await packages.close();
      await watches.closeWatchQueues();
    },
  };
}

/** bull-board for the capture and seal queues, admins only (CSRF: same-origin check, see auth.ts). */
function mountQueueDashboard(app: Hono<ApiEnv>, services: Services): void {
  const adapter = new HonoAdapter(serveStatic).setBasePath(QUEUE_DASHBOARD_PATH);
  createBullBoard({ queues: [new BullMQAdapter(services.queues.capture), new BullMQAdapter(services.queues.seal)], serverAdapter: adapter, options: { uiConfig: { boardTitle: 'Exhibit queues' } } });
  app.use(`${QUEUE_DASHBOARD_PATH}/*`, async (c, next) => {
    requirePermission(c, 'queues');
    await next();
  });
  app.use(QUEUE_DASHBOARD_PATH, async (c, next) => {
    requirePermission(c, 'queues');
    await next();
  });
  app.route(QUEUE_DASHBOARD_PATH, adapter.registerPlugin() as unknown as Hono<ApiEnv>);
  app.all(`${QUEUE_DASHBOARD_PATH}/*`, () => {
    throw new HttpError(404, 'NOT_FOUND', 'no such dashboard page');
  });
}

/** Listen on host:port; resolves with the bound address once listening. */
export function listen(api: Api, host: string, port: number): Promise<{ server: ServerType; url: string; close(): Promise<void> }> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: api.app.fetch, hostname: host, port }, (info) => {
      const h = info.address.includes(':') ? `[${info.address}]` : info.address;
      resolve({
        server,
        url: `http://${h}:${info.port}`,
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            (server as { closeAllConnections?: () => void }).closeAllConnections?.();
          }),
      });
    });
    server.once('error', reject);
  });
}
