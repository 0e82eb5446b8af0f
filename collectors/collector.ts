import type { z } from 'zod';
import type { Logger } from '../lib/logger.js';
import type { Clock } from '../lib/clock.js';
import type { Config } from '../schemas/config.js';
import type { CaptureRequest } from '../schemas/capture.js';
import type { CollectorOutput, JobProgress } from '../schemas/jobs.js';
import type { LoadedAccount } from './accounts.js';
import type { BrowserPool } from './browser/pool.js';

// The pool a CollectContext carries is part of the collector interface: workers start and hand it
// over through this module, never through the browser helpers themselves.
export { BrowserPool } from './browser/pool.js';

/** What a collector can do; shared code branches on these, never on `id`. */
export const COLLECTOR_CAPABILITIES = ['page', 'screenshot', 'warc', 'mhtml', 'media', 'post', 'thread', 'profile'] as const;
export type CollectorCapability = (typeof COLLECTOR_CAPABILITIES)[number];

/** Everything a collector may use. Collectors know nothing of queues or storage. */
export interface CollectContext {
  captureId: string;
  request: CaptureRequest;
  /** An empty directory the collector owns; every artifact goes here. */
  spoolDir: string;
  capture: Config['capture'];
  browsers: BrowserPool;
  logger: Logger;
  clock: Clock;
  /** Exhibit's own version facts, for the environment record. */
  software: { exhibitVersion: string; gitCommit: string | null };
  onProgress(progress: JobProgress): void;
  /** Aborted when the job is cancelled or the worker shuts down. */
  signal: AbortSignal;
  /** The collection account to browse as (its decrypted storage state), when the request named one. */
  account?: LoadedAccount | null;
}

export interface Collector {
  readonly id: string;
  readonly version: string;
  readonly capabilities: readonly CollectorCapability[];
  /** Whether this collector handles the URL. The registry asks collectors in order; `web` matches anything. */
  matches(url: URL): boolean;
  /**
   * The collector's options (`collectors.<id>.<option>` in the config), e.g. the hostnames a platform
   * collector answers for. Collectors without options leave it out.
   */
  readonly configSchema?: z.ZodType;
  /** Honest states in which a collection account may show what a logged-out visitor cannot (docs only). */
  readonly accountHelps?: readonly string[];
  /** A copy of this collector using `options` (validated by the registry with {@link configSchema} first). */
  configure?(options: unknown): Collector;
  /**
   * Capture the target into ctx.spoolDir. A page that fails (DNS, refused, TLS, 4xx/5xx, timeout)
   * still resolves with status `failed`, a precise failure, and whatever was observed; it throws only
   * for input that must not be captured at all (bad URL, blocked target) or when the browser itself broke.
   */
  collect(ctx: CollectContext, target: URL): Promise<CollectorOutput>;
}
