import { z } from 'zod';

/**
 * Exhibit configuration: one schema. Precedence: CLI > env (EXHIBIT_*) > YAML > default.
 * Loaded and validated once by lib/config.ts, then passed down explicitly.
 */
export const Config = z.object({
  /** Directory for the embedded default: private Redis data, local store, keys, spool. @defaultValue `.state` */
  stateDir: z.string().default('.state'),
  redis: z
    .object({
      /** Redis URL; when absent, a private redis-server with AOF is spawned under `stateDir/redis`. */
      url: z.string().url().optional(),
      /** BullMQ key prefix; tests use a random one per test. @defaultValue `exhibit` */
      prefix: z.string().regex(/^[A-Za-z0-9_-]+$/).default('exhibit'),
      /**
       * Longest wait for Redis to answer one command (commands, queue reads and writes; not the
       * workers' blocking waits for jobs), in ms; past it the command fails as UNAVAILABLE (exit 9). @defaultValue 10000
       */
      commandTimeoutMs: z.number().int().min(100).default(10_000),
    })
    .prefault({}),
  store: z
    .object({
      /** `fs`: a local directory (embedded default); `s3`: MinIO or any S3 with Object Lock. @defaultValue `fs` */
      kind: z.enum(['fs', 's3']).default('fs'),
      /** Root of the local store; relative to stateDir when not absolute. @defaultValue `store` */
      fsRoot: z.string().default('store'),
      s3: z
        .object({
          endPoint: z.string().default('127.0.0.1'),
          port: z.number().int().positive().default(9000),
          useSSL: z.boolean().default(false),
          accessKey: z.string().default(''),
          secretKey: z.string().default(''),
          bucket: z.string().default('exhibit-evidence'),
          region: z.string().default('us-east-1'),
          /** Object Lock retention applied to every object. @defaultValue GOVERNANCE, 3650 days */
          retentionMode: z.enum(['GOVERNANCE', 'COMPLIANCE']).default('GOVERNANCE'),
          retentionDays: z.number().int().positive().default(3650),
          /**
           * Longest wait for the store to answer one request (or to send the next bytes of a
           * response), in ms; past it the call fails as STORE_ERROR (exit 9). @defaultValue 15000
           */
          requestTimeoutMs: z.number().int().min(100).default(15_000),
        })
        .prefault({}),
    })
    .prefault({}),
  /** Where collectors write raw artifacts before sealing; relative to stateDir when not absolute. @defaultValue `spool` */
  spoolDir: z.string().default('spool'),
  capture: z
    .object({
      /** Captures run at once per worker process (each in its own browser context). @defaultValue 2 */
      concurrency: z.number().int().min(1).max(32).default(2),
      /** Attempts for transient failures (network, browser crash). @defaultValue 3 */
      attempts: z.number().int().min(1).max(20).default(3),
      /** Hard limit for one page capture, in ms. @defaultValue 90000 */
      timeoutMs: z.number().int().positive().default(90_000),
      /** Navigation (`load` event) limit, in ms. @defaultValue 45000 */
      navigationTimeoutMs: z.number().int().positive().default(45_000),
      /** Budget for settling (network quiet, lazy content scrolled in), in ms. @defaultValue 15000 */
      settleTimeoutMs: z.number().int().positive().default(15_000),
      /** Network counts as quiet after this many ms with no request in flight. @defaultValue 500 */
      networkQuietMs: z.number().int().positive().default(500),
      /** Maximum bytes recorded for one response; larger ones are cut and flagged. @defaultValue 512 MiB */
      maxResourceBytes: z.number().int().positive().default(512 * 1024 * 1024),
      /** Maximum bytes recorded for the whole page. @defaultValue 2 GiB */
      maxPageBytes: z.number().int().positive().default(2 * 1024 * 1024 * 1024),
      /** Maximum full-page screenshot height in CSS px (Chromium's own limit is 16384 per tile). @defaultValue 30000 */
      maxScreenshotHeight: z.number().int().positive().default(30_000),
      viewport: z.object({ width: z.number().int().positive(), height: z.number().int().positive() }).default({ width: 1280, height: 900 }),
      locale: z.string().default('en-GB'),
      timezone: z.string().default('UTC'),
      /** Override the browser's user agent; null keeps Chromium's own. */
      userAgent: z.string().nullable().default(null),
      /** Allow private, loopback and link-local targets. Off in production. @defaultValue false */
      allowPrivateNetwork: z.boolean().default(false),
      /**
       * CIDR ranges (`10.20.0.0/16`, `fd00::/8`) reachable even when private networks are not allowed:
       * one known internal host, without opening every private address to the pages captured. @defaultValue []
       */
      allowCidrs: z
        .array(z.string().regex(/^(?:\d{1,3}(?:\.\d{1,3}){3}\/\d{1,2}|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*\/\d{1,3})$/, 'a CIDR range such as 10.20.0.0/16 or fd00::/8'))
        .max(64)
        .default([]),
      /** URL answering with the caller's public IP (plain text or JSON `{ip}`); null records egress as unknown. */
      egressEchoUrl: z.string().url().nullable().default(null),
      /** Upstream HTTP proxy all capture traffic goes through, recorded in the environment. */
      upstreamProxy: z.string().url().nullable().default(null),
      /** Chromium binary. @defaultValue `/usr/bin/chromium` */
      chromiumPath: z.string().default('/usr/bin/chromium'),
    })
    .prefault({}),
  seal: z
    .object({
      /** Seal jobs run at once per worker process. @defaultValue 2 */
      concurrency: z.number().int().min(1).max(32).default(2),
      /** Longest edge of image thumbnails, px. @defaultValue 512 */
      thumbnailSize: z.number().int().positive().default(512),
      /** ffprobe binary. @defaultValue `ffprobe` */
      ffprobePath: z.string().default('ffprobe'),
      /**
       * libheif's heif-convert, which decodes HEVC-coded HEIF (phone HEIC) for thumbnails and hashes;
       * `heif-info` is taken from the same directory (or PATH). @defaultValue `heif-convert`
       */
      heifConvertPath: z.string().default('heif-convert'),
    })
    .prefault({}),
  keys: z
    .object({
      /** Signing key store; relative to stateDir when not absolute. @defaultValue `keys` */
      dir: z.string().default('keys'),
    })
    .prefault({}),
  trust: z
    .object({
      /**
       * Local trust store (JSON): the signing keys and TSA roots this deployment pins when verifying
       * packages from elsewhere (`exhibit trust add`); relative to stateDir when not absolute.
       * @defaultValue `trust.json`
       */
      file: z.string().default('trust.json'),
      /**
       * Partner agencies (JSON): per partner, the signing keys and TSA roots a package from it must
       * verify against (`exhibit partners add`); relative to stateDir when not absolute.
       * @defaultValue `partners.json`
       */
      partnersFile: z.string().default('partners.json'),
    })
    .prefault({}),
  tsa: z
    .object({
      /** RFC 3161 TSAs to ask; a token is kept from each that answers. Empty: captures stay unsealed. */
      urls: z.array(z.string().url()).default([]),
      /** Trust anchors (PEM files) for checking TSA responses. */
      caFiles: z.array(z.string()).default([]),
      timeoutMs: z.number().int().positive().default(10_000),
      attempts: z.number().int().min(1).max(10).default(3),
    })
    .prefault({}),
  /**
   * Options per collector, by collector id (`collectors.<id>.<option>`); each collector validates its
   * own with its `configSchema` (see collectors/registry.ts `configureCollectors`). @defaultValue `{}`
   */
  collectors: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
  accounts: z
    .object({
      /**
       * AES-256-GCM key (32 bytes, base64) for the collection accounts' browser states at rest. No
       * default: without it accounts can be neither imported nor used. @see EXHIBIT_ACCOUNTS_KEY
       */
      key: z
        .string()
        .refine((k) => /^[A-Za-z0-9+/]+={0,2}$/.test(k) && Buffer.from(k, 'base64').length === 32, 'must be 32 bytes, base64-encoded (e.g. `openssl rand -base64 32`)')
        .optional(),
      /** Encrypted account files; relative to stateDir when not absolute. @defaultValue `accounts` */
      dir: z.string().default('accounts'),
    })
    .prefault({}),
  custody: z
    .object({
      /**
       * How often workers sign and timestamp the head of every custody log that moved since its last
       * signed head (packages also sign the head they end with). @defaultValue 900000 (15 min)
       */
      headSigningIntervalMs: z.number().int().min(1000).default(900_000),
    })
    .prefault({}),
  watch: z
    .object({
      /** Watch runs at once per worker (each waits for its captures to seal). @defaultValue 4 */
      concurrency: z.number().int().min(1).max(100).default(4),
      /** Longest a run waits for one of its captures to seal, in ms. @defaultValue 300000 */
      runTimeoutMs: z.number().int().min(1000).default(300_000),
      /** Consecutive failed runs before the interval starts doubling. @defaultValue 3 */
      failureThreshold: z.number().int().min(1).default(3),
      /** Upper bound of the backed-off interval, in ms. @defaultValue 604800000 (7 days) */
      maxBackoffMs: z.number().int().min(60_000).default(604_800_000),
      /** One webhook delivery attempt may take this long, in ms. @defaultValue 10000 */
      webhookTimeoutMs: z.number().int().min(100).default(10_000),
      /** Delivery attempts per finding (exponential backoff). @defaultValue 6 */
      webhookAttempts: z.number().int().min(1).max(20).default(6),
      /** First retry delay, in ms (doubles each attempt). @defaultValue 5000 */
      webhookBackoffMs: z.number().int().min(10).default(5_000),
      /**
       * Watch runs per platform (collector id) per window, shared by all workers through Redis; a run
       * over the limit waits for the next window. @defaultValue 60 runs per 60000 ms
       */
      platformRate: z.object({ max: z.number().int().min(1).default(60), durationMs: z.number().int().min(100).default(60_000) }).prefault({}),
    })
    .prefault({}),
  api: z
    .object({
      /**
       * Largest request body on any route that sets no limit of its own, in bytes; counted while the
       * body streams in, so a larger body is refused (413) before it is buffered. @defaultValue 1 MiB
       */
      maxBodyBytes: z.number().int().min(1024).default(1024 * 1024),
      /** Largest package upload to `POST /api/verify`, in bytes (also bounds what verify inflates). @defaultValue 2 GiB */
      maxUploadBytes: z.number().int().min(1024).default(2 * 1024 * 1024 * 1024),
      /**
       * What an uploaded package may inflate to, as a multiple of its upload size (at least 64 MiB):
       * a zip bomb is refused before it is inflated. A package over it verifies offline with
       * `exhibit verify`. @defaultValue 20
       */
      maxInflateRatio: z.number().int().min(1).max(1100).default(20),
      signIn: z
        .object({
          /** Failed sign-ins per user name, and per client address, before each further failure adds a delay. @defaultValue 5 */
          freeAttempts: z.number().int().min(1).max(1000).default(5),
          /** Delay after the first failure over `freeAttempts`, in ms; doubles with each further failure. @defaultValue 1000 */
          baseDelayMs: z.number().int().min(100).default(1_000),
          /** Longest delay, in ms. @defaultValue 900000 (15 min) */
          maxDelayMs: z.number().int().min(100).default(900_000),
          /** Failures are forgotten this long after the last one, in ms. @defaultValue 86400000 (24 h) */
          forgetAfterMs: z.number().int().min(1000).default(86_400_000),
        })
        .prefault({}),
    })
    .prefault({}),
  replay: z
    .object({
      /**
       * Port of the replay origin that `exhibit serve` opens beside the API: captured pages run in
       * ReplayWeb.page there, never in the web app's origin. 0 picks a free port.
       * @defaultValue the API port + 1 (8081 beside `--port 8080`; a free port when the API's is 0)
       */
      port: z.number().int().min(0).max(65535).optional(),
      /**
       * Address the replay origin listens on; when absent, the address the API listens on.
       * @defaultValue the `exhibit serve --host` address
       */
      host: z.string().optional(),
      /**
       * Origin the browser uses for the replay viewer (`https://replay.exhibit.example`), when a
       * reverse proxy serves it under its own host name. Must differ from the web app's origin.
       * When absent: the web app's host name with `replay.port`.
       */
      publicOrigin: z
        .string()
        .url()
        .refine((u) => { const x = new URL(u); return (x.protocol === 'https:' || x.protocol === 'http:') && x.pathname === '/' && !x.search && !x.hash; }, 'an http(s) origin without path, query or fragment')
        .transform((u) => new URL(u).origin)
        .optional(),
      /**
       * Lifetime of the capture-scoped, read-only token with which the replay origin fetches one
       * capture's archive, in seconds. @defaultValue 300
       */
      tokenTtlSeconds: z.number().int().min(10).max(3600).default(300),
    })
    .prefault({}),
  queue: z
    .object({
      /**
       * Lock a worker holds on a running job, in ms; renewed every half of it while the job runs. A
       * worker that dies stops renewing, and the job is taken over once its lock has expired and a
       * stalled-job check has seen it. @defaultValue 15000
       */
      lockDurationMs: z.number().int().min(1000).default(15_000),
      /** How often each worker looks for jobs whose lock expired (stalled), in ms. @defaultValue 5000 */
      stalledIntervalMs: z.number().int().min(500).default(5_000),
      /** Times a job may stall (its worker dies) and be run again before it fails. @defaultValue 2 */
      maxStalledCount: z.number().int().min(0).max(100).default(2),
      /**
       * How long captures and seals ride out an outage of the evidence store: a job keeps retrying
       * while the waits between its attempts add up to no more than this, in ms. A seal that still
       * fails keeps what was captured; `exhibit reseal <captureId>` seals it later. @defaultValue 900000 (15 min)
       */
      retryBudgetMs: z.number().int().min(0).default(900_000),
      /** Wait before the first retry of a job, in ms; doubles with each retry. @defaultValue 2000 */
      retryBackoffMs: z.number().int().min(10).default(2_000),
      /** Longest wait between two attempts of a job, in ms. @defaultValue 30000 */
      retryMaxBackoffMs: z.number().int().min(10).default(30_000),
    })
    .prefault({}),
  worker: z
    .object({
      /**
       * Port of `exhibit worker`'s operations endpoint (`/metrics`, `/healthz`, `/readyz`); none
       * when unset. `exhibit serve` has them on its own port. @defaultValue null
       */
      metricsPort: z.number().int().min(0).max(65535).nullable().default(null),
      /** Address that endpoint listens on (0.0.0.0 in a container, for the scraper). @defaultValue '127.0.0.1' */
      metricsHost: z.string().min(1).default('127.0.0.1'),
    })
    .prefault({}),
  log: z
    .object({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      /**
       * Log lines on stderr: `json` (pino JSON lines), `human` (one short line each) or `auto`
       * (human on a terminal, JSON otherwise). @defaultValue 'auto'
       */
      format: z.enum(['auto', 'json', 'human']).default('auto'),
    })
    .prefault({}),
});
export type Config = z.infer<typeof Config>;
