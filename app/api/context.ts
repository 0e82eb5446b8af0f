import type { Config } from '../../schemas/config.js';
import type { Logger } from '../../lib/logger.js';
import type { UserRecord } from '../../schemas/api.js';
import type { Services } from '../../workers/runtime.js';
import type { UserStore } from './users.js';
import type { WatchDeps } from '../../workers/watch.js';
import type { PackageJobs } from './package-jobs.js';

/** Options of the HTTP service (`exhibit serve`). */
export interface ApiOptions {
  /** Largest package upload accepted by `POST /api/verify`, in bytes. @defaultValue config `api.maxUploadBytes` */
  maxUploadBytes?: number;
  /** An uploaded package may inflate to this multiple of its size (at least 64 MiB). @defaultValue config `api.maxInflateRatio` */
  maxInflateRatio?: number;
  /** Largest request body of every other route, in bytes. @defaultValue config `api.maxBodyBytes` */
  maxBodyBytes?: number;
  /** Sign-in back-off. @defaultValue config `api.signIn` */
  signIn?: Partial<Config['api']['signIn']>;
  /** Where packages built through the API are written. @defaultValue `<stateDir>/api-packages` */
  packagesDir?: string;
  /** Web session lifetime, in seconds. @defaultValue 28800 (8 h) */
  sessionTtlSeconds?: number;
  /** Mark the session cookie `Secure` (serve behind TLS). @defaultValue false */
  secureCookies?: boolean;
  /** Mount the bull-board queue dashboard at /admin/queues (admins only). @defaultValue true */
  queueDashboard?: boolean;
  /** Poll interval of server-sent progress events, in ms. @defaultValue 500 */
  progressIntervalMs?: number;
  /**
   * Where the replay origin is (`exhibit serve` opens it beside the API). @defaultValue config `replay`
   * @see app/api/replay-server.ts
   */
  replay?: Partial<ReplayOptions>;
}

/** The replay origin as the API names it in viewer URLs. */
export interface ReplayOptions {
  /** Port of the replay origin on the web app's host name, when no public origin is configured. */
  port: number;
  /** The replay origin behind a reverse proxy (`https://replay.exhibit.example`). */
  publicOrigin?: string | undefined;
  /** Lifetime of a replay token, in seconds. */
  tokenTtlSeconds: number;
}

export interface ApiDeps {
  services: Services;
  users: UserStore;
  packages: PackageJobs;
  /** The services with the watch queues (schedules and webhook deliveries). */
  watches: WatchDeps;
  logger: Logger;
  options: Required<Omit<ApiOptions, 'packagesDir' | 'signIn' | 'replay'>> & { packagesDir: string; signIn: Config['api']['signIn']; replay: ReplayOptions };
}

/** Per-request values set by the auth middleware. */
export interface ApiEnv {
  Variables: {
    user: UserRecord | null;
    via: 'session' | 'token' | null;
    csrfToken: string | null;
  };
}
