import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { stat } from 'node:fs/promises';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { Client } from 'minio';
import type { Logger } from '../lib/logger.js';
import { ConfigError, ExhibitError, IntegrityError, PermanentError, TransientError } from '../lib/errors.js';
import type { Config } from '../schemas/config.js';
import { hashFile } from './hash-file.js';
import { HASH_CHUNK_BYTES, hashBytes, type Digests } from './hash.js';
import type { EvidenceStore, StoreFinding, StoredBlob } from './store.js';
import { storeKeys } from './store.js';
import { assertRecordKey, assertValidKey, assertValidPrefix, sha256Hex } from './store-keys.js';

export type S3StoreConfig = Config['store']['s3'];

/** One version of one key as the bucket lists it. */
interface ObjectVersion {
  versionId: string;
  deleteMarker: boolean;
  latest: boolean;
  size: number;
  modified: number;
}

/** A version-listing entry of the minio client, or null for a common prefix. */
function toVersion(item: unknown): (ObjectVersion & { name: string }) | null {
  const v = item as { name?: string; versionId?: string; isDeleteMarker?: boolean; isLatest?: string | boolean; size?: number; lastModified?: Date };
  if (!v.name || !v.versionId) return null;
  return { name: v.name, versionId: v.versionId, deleteMarker: v.isDeleteMarker === true, latest: v.isLatest === true || v.isLatest === 'true', size: v.size ?? 0, modified: v.lastModified?.getTime() ?? 0 };
}

/**
 * Which version of a key is the sealed one, and what lies above it. Writes are create-only
 * (`If-None-Match: *`), so the version written at seal is the first one the key ever had: `recorded`
 * when this process wrote it, otherwise the oldest non-marker version. Anything newer — another
 * version or a delete marker — was written past the application.
 */
export function pickSealedVersion(versions: readonly ObjectVersion[], recorded?: string): { sealed: ObjectVersion; above: ObjectVersion[] } | null {
  const objects = versions.filter((v) => !v.deleteMarker);
  if (objects.length === 0) return null;
  // The client's parser lists versions before delete markers, losing the server's order: sort by time,
  // and on a tie the latest one is the newer.
  const byAge = [...objects].sort((a, b) => a.modified - b.modified || Number(a.latest) - Number(b.latest));
  const sealed = (recorded !== undefined ? objects.find((v) => v.versionId === recorded) : undefined) ?? byAge[0]!;
  const above = versions
    .filter((v) => v !== sealed && (v.deleteMarker || v.modified >= sealed.modified))
    .sort((a, b) => b.modified - a.modified || Number(b.latest) - Number(a.latest));
  return { sealed, above };
}

const DAY_MS = 24 * 60 * 60 * 1000;

function s3Code(err: unknown): string | undefined {
  return (err as { code?: string } | null)?.code;
}

function isNotFound(err: unknown): boolean {
  const c = s3Code(err);
  return c === 'NotFound' || c === 'NoSuchKey' || c === 'NoSuchObject';
}

function isPreconditionFailed(err: unknown): boolean {
  const c = s3Code(err);
  return c === 'PreconditionFailed' || (err as { statusCode?: number } | null)?.statusCode === 412;
}

/**
 * The minio client sets no timeout on its HTTP requests: a frozen server (connection accepted,
 * nothing answered) hangs every call. This transport gives each request a socket idle timeout and
 * destroys it with STORE_ERROR naming the endpoint, so callers fail fast as UNAVAILABLE.
 */
export function timeoutTransport(useSSL: boolean, timeoutMs: number, endpoint: string): { request: typeof http.request } {
  const base = useSSL ? https : http;
  const request = ((opts: http.RequestOptions, cb?: (res: http.IncomingMessage) => void) => {
    const req = base.request({ ...opts, timeout: timeoutMs }, cb);
    req.on('timeout', () => req.destroy(new TransientError('STORE_ERROR', `the evidence store ${endpoint} did not answer within ${timeoutMs} ms (store.s3.requestTimeoutMs)`)));
    // Once headers are in, the body streams: a stall there must end the read the same way.
    req.on('response', (res) => {
      res.setTimeout(timeoutMs, () => res.destroy(new TransientError('STORE_ERROR', `the evidence store ${endpoint} stopped sending after ${timeoutMs} ms (store.s3.requestTimeoutMs)`)));
    });
    return req;
  }) as typeof http.request;
  return { request };
}

export function endpointOf(cfg: S3StoreConfig): string {
  return `${cfg.useSSL ? 'https' : 'http'}://${cfg.endPoint}:${cfg.port}`;
}

function storeError(what: string, cause: unknown): ExhibitError {
  if (cause instanceof ExhibitError) return cause;
  return new TransientError('STORE_ERROR', `${what}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
}

/**
 * Re-checks SHA-256 of the bytes actually sent. The key was computed in a first pass; if the file
 * changed in between, the stream errors before the upload completes, so a wrong object can never
 * land (and be locked) under a content address.
 */
class VerifySha256 extends Transform {
  private readonly h = createHash('sha256');
  constructor(private readonly expected: string, private readonly what: string) {
    super({ highWaterMark: HASH_CHUNK_BYTES });
  }
  override _transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    this.h.update(chunk);
    cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    const got = `sha256:${this.h.digest('hex')}`;
    if (got !== this.expected) cb(new IntegrityError('HASH_MISMATCH', `${this.what} changed while uploading: hashed ${this.expected}, sent ${got}`));
    else cb();
  }
}

/**
 * Evidence store on S3/MinIO with Object Lock. The bucket must have Object Lock (and therefore
 * versioning) enabled; every object gets a retention period (bucket default, checked and applied
 * explicitly per object), so neither the application nor an operator without bypass rights can
 * delete or overwrite it. Writes use `If-None-Match: *`, which MinIO and S3 honour atomically on
 * single-part PUTs; records are always single-part.
 */
export class S3Store implements EvidenceStore {
  readonly kind = 's3' as const;
  readonly location: string;
  onFinding?: (finding: StoreFinding) => void;
  /** Version ids this process wrote at seal (the pin for later reads in the same process). */
  private readonly sealedVersions = new Map<string, string>();
  /** Findings already reported by this process: one report per finding, not per read. */
  private readonly reported = new Set<string>();

  private constructor(
    readonly client: Client,
    readonly bucket: string,
    private readonly cfg: S3StoreConfig,
    private readonly logger: Logger | undefined,
  ) {
    this.location = `s3://${bucket}`;
  }

  /**
   * Connect, create the bucket with Object Lock if it is missing (and set the default retention),
   * or check that an existing bucket has Object Lock enabled — refusing one that does not.
   */
  static async open(cfg: S3StoreConfig, opts: { logger?: Logger } = {}): Promise<S3Store> {
    if (!cfg.accessKey || !cfg.secretKey) throw new ConfigError('store.s3.accessKey and store.s3.secretKey are required for the s3 store');
    const client = new Client({
      endPoint: cfg.endPoint,
      port: cfg.port,
      useSSL: cfg.useSSL,
      accessKey: cfg.accessKey,
      secretKey: cfg.secretKey,
      region: cfg.region,
      transport: timeoutTransport(cfg.useSSL, cfg.requestTimeoutMs, endpointOf(cfg)) as never,
    });
    const store = new S3Store(client, cfg.bucket, cfg, opts.logger);
    await store.ensureBucket();
    return store;
  }

  private async ensureBucket(): Promise<void> {
    const { bucket, cfg } = this;
    let exists: boolean;
    try {
      exists = await this.client.bucketExists(bucket);
    } catch (err) {
      throw storeError(`cannot reach the evidence store ${endpointOf(cfg)} (bucket ${bucket})`, err);
    }
    if (!exists) {
      try {
        await this.client.makeBucket(bucket, cfg.region, { ObjectLocking: true });
        this.logger?.info({ context: 'store', bucket }, 'created bucket with Object Lock');
      } catch (err) {
        // Another process may have created it in between; the checks below still apply.
        if (s3Code(err) !== 'BucketAlreadyOwnedByYou') throw storeError(`cannot create bucket ${bucket}`, err);
      }
    }
    let lock: { objectLockEnabled?: string; mode?: string; unit?: string; validity?: number };
    try {
      lock = (await this.client.getObjectLockConfig(bucket)) as unknown as typeof lock;
    } catch (err) {
      if (s3Code(err) === 'ObjectLockConfigurationNotFoundError' || s3Code(err) === 'ObjectLockConfigurationNotFound') lock = {};
      else throw storeError(`cannot read the Object Lock configuration of bucket ${bucket}`, err);
    }
    if (lock.objectLockEnabled !== 'Enabled') {
      throw new ConfigError(
        `bucket ${bucket} does not have Object Lock enabled; evidence needs write-once storage. Object Lock can only be enabled when a bucket is created: use a new bucket (Exhibit creates it with Object Lock) or create it with "mc mb --with-lock".`,
      );
    }
    const versioning = (await this.client.getBucketVersioning(bucket).catch((err: unknown) => {
      throw storeError(`cannot read the versioning state of bucket ${bucket}`, err);
    })) as { Status?: string } | null;
    if (versioning?.Status !== 'Enabled') {
      throw new ConfigError(`bucket ${bucket} has Object Lock but versioning is ${versioning?.Status ?? 'off'}; refusing to use it`);
    }
    if (!lock.mode) {
      await this.client.setObjectLockConfig(bucket, { mode: cfg.retentionMode as never, unit: 'Days' as never, validity: cfg.retentionDays });
      this.logger?.info({ context: 'store', bucket, mode: cfg.retentionMode, days: cfg.retentionDays }, 'set default retention');
    } else if (lock.mode !== cfg.retentionMode || lock.unit !== 'Days' || Number(lock.validity) !== cfg.retentionDays) {
      // Not changed behind the owner's back; every object still gets at least the configured retention (applyRetention).
      this.logger?.warn({ context: 'store', bucket, bucketDefault: lock, configured: { mode: cfg.retentionMode, days: cfg.retentionDays } }, 'bucket default retention differs from config');
    }
  }

  /** The bucket's Object Lock configuration as the server reports it. */
  async objectLockConfig(): Promise<{ objectLockEnabled?: string; mode?: string; unit?: string; validity?: number }> {
    return (await this.client.getObjectLockConfig(this.bucket)) as never;
  }

  /**
   * Check the object version carries at least the configured retention; apply it explicitly when
   * the bucket default did not (e.g. the default rule was removed out of band).
   */
  private async applyRetention(key: string, versionId: string | null): Promise<void> {
    const opts = versionId ? { versionId } : undefined;
    const want = Date.now() + this.cfg.retentionDays * DAY_MS;
    const current = await this.client.getObjectRetention(this.bucket, key, opts).catch((err: unknown) => {
      if (s3Code(err) === 'NoSuchObjectLockConfiguration') return null;
      throw err;
    });
    const until = current?.retainUntilDate ? Date.parse(current.retainUntilDate) : NaN;
    // A day of slack covers clock skew between us and the server.
    if (current && current.mode === this.cfg.retentionMode && Number.isFinite(until) && until >= want - DAY_MS) return;
    if (current && current.mode === 'COMPLIANCE' && Number.isFinite(until) && until >= want - DAY_MS) return;
    await this.client.putObjectRetention(this.bucket, key, {
      mode: this.cfg.retentionMode as never,
      retainUntilDate: new Date(Math.max(want, Number.isFinite(until) ? until : 0)).toISOString(),
      versionId: versionId ?? '',
    });
    this.logger?.warn({ context: 'store', key, versionId }, 'object had no or short retention; applied explicitly');
  }

  async putFile(filePath: string, opts: { expectSha256?: string; contentType?: string } = {}): Promise<StoredBlob> {
    if (opts.expectSha256 !== undefined) sha256Hex(opts.expectSha256);
    const st = await stat(filePath).catch((cause: unknown) => {
      throw new PermanentError('NOT_FOUND', `cannot read ${filePath}: ${(cause as Error).message}`, { cause });
    });
    if (!st.isFile()) throw new PermanentError('INVALID_INPUT', `${filePath} is not a regular file`);
    const d = await hashFile(filePath);
    if (opts.expectSha256 !== undefined && d.sha256 !== opts.expectSha256) {
      throw new IntegrityError('HASH_MISMATCH', `${filePath}: expected ${opts.expectSha256}, read ${d.sha256}`);
    }
    const key = storeKeys.blob(sha256Hex(d.sha256));
    return this.putBlob(key, d, opts.contentType, () =>
      createReadStream(filePath, { highWaterMark: HASH_CHUNK_BYTES }).pipe(new VerifySha256(d.sha256, filePath)),
    );
  }

  async putBytes(bytes: Uint8Array, opts: { contentType?: string } = {}): Promise<StoredBlob> {
    const d = hashBytes(bytes);
    const key = storeKeys.blob(sha256Hex(d.sha256));
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return this.putBlob(key, d, opts.contentType, () => buf);
  }

  private async putBlob(key: string, d: Digests, contentType: string | undefined, body: () => Readable | Buffer): Promise<StoredBlob> {
    const existing = await this.sealedVersion(key);
    if (existing) return this.confirmExisting(key, d, existing.size, existing.versionId);
    const meta = {
      'Content-Type': contentType ?? 'application/octet-stream',
      'X-Amz-Meta-Sha256': d.sha256,
      'X-Amz-Meta-Sha512': d.sha512,
      'If-None-Match': '*',
    };
    let versionId: string | null;
    try {
      const res = await this.client.putObject(this.bucket, key, body(), d.size, meta);
      versionId = res.versionId ?? null;
    } catch (err) {
      if (err instanceof ExhibitError) throw err;
      // Someone stored the same content in between: that is the idempotent outcome.
      if (isPreconditionFailed(err)) {
        const now = await this.sealedVersion(key);
        if (now) return this.confirmExisting(key, d, now.size, now.versionId);
      }
      throw storeError(`cannot upload ${key} to ${this.location}`, err);
    }
    const after = await this.statRaw(key);
    if (!after || after.size !== d.size) {
      throw new IntegrityError('STORE_ERROR', `uploaded ${key} but the store reports size ${after?.size ?? 'none'}, expected ${d.size}`);
    }
    const sealedId = versionId ?? after.versionId;
    await this.applyRetention(key, sealedId);
    if (sealedId) this.sealedVersions.set(key, sealedId);
    return { key, sha256: d.sha256, sha512: d.sha512, size: d.size, created: true, ...(sealedId ? { versionId: sealedId } : {}) };
  }

  private confirmExisting(key: string, d: Digests, size: number, versionId: string): StoredBlob {
    if (size !== d.size) {
      throw new IntegrityError('STORE_CONFLICT', `blob ${key} exists in ${this.location} with size ${size}, expected ${d.size}: the store is damaged`);
    }
    return { key, sha256: d.sha256, sha512: d.sha512, size: d.size, created: false, versionId };
  }

  async putRecord(key: string, bytes: Uint8Array, opts: { contentType?: string } = {}): Promise<{ created: boolean; versionId?: string }> {
    assertRecordKey(key);
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const compare = async (): Promise<{ created: boolean; versionId?: string }> => {
      const sealed = await this.sealedVersion(key);
      const existing = await this.getBytes(key);
      if (Buffer.compare(existing, buf) === 0) return { created: false, ...(sealed ? { versionId: sealed.versionId } : {}) };
      throw new IntegrityError('STORE_CONFLICT', `record ${key} already exists in ${this.location} with different content (write-once store refuses to overwrite)`);
    };
    // The sealed version, not the latest: a delete marker over a record must not let it be written again.
    if (await this.sealedVersion(key)) return compare();
    let versionId: string | null;
    try {
      const res = await this.client.putObject(this.bucket, key, buf, buf.length, {
        'Content-Type': opts.contentType ?? 'application/octet-stream',
        'X-Amz-Meta-Sha256': hashBytes(buf).sha256,
        // Atomic create-if-absent: a concurrent writer of the same key gets 412 instead of a new version.
        'If-None-Match': '*',
      });
      versionId = res.versionId ?? null;
    } catch (err) {
      if (isPreconditionFailed(err)) return compare();
      throw storeError(`cannot write record ${key} to ${this.location}`, err);
    }
    await this.applyRetention(key, versionId);
    if (versionId) this.sealedVersions.set(key, versionId);
    return { created: true, ...(versionId ? { versionId } : {}) };
  }

  /** Every version and delete marker of exactly `key`. */
  private async versionsOf(key: string): Promise<ObjectVersion[]> {
    assertValidKey(key);
    const out: ObjectVersion[] = [];
    try {
      for await (const item of this.client.listObjects(this.bucket, key, true, { IncludeVersion: true })) {
        const v = toVersion(item);
        if (v?.name === key) out.push(v);
      }
    } catch (err) {
      throw storeError(`cannot list the versions of ${key} in ${this.location}`, err);
    }
    return out;
  }

  /**
   * The version written at seal (null when the key never held an object), reporting anything
   * written over it. A bucket without versions (ids "null") has nothing to pin.
   */
  private async sealedVersion(key: string): Promise<{ versionId: string; size: number } | null> {
    const picked = pickSealedVersion(await this.versionsOf(key), this.sealedVersions.get(key));
    if (!picked) return null;
    if (picked.above.length > 0) this.report(key, picked.sealed, picked.above);
    return { versionId: picked.sealed.versionId, size: picked.sealed.size };
  }

  private report(key: string, sealed: ObjectVersion, above: ObjectVersion[]): void {
    const finding: StoreFinding = { key, sealedVersionId: sealed.versionId, above: above.map((v) => ({ versionId: v.versionId, deleteMarker: v.deleteMarker })) };
    const id = `${key}@${finding.above.map((a) => a.versionId).join(',')}`;
    if (this.reported.has(id)) return;
    this.reported.add(id);
    this.logger?.error({ context: 'store', ...finding }, 'sealed object has newer versions or a delete marker above it; serving the sealed version');
    this.onFinding?.(finding);
  }

  private async statRaw(key: string): Promise<{ size: number; versionId: string | null } | null> {
    assertValidKey(key);
    try {
      const st = await this.client.statObject(this.bucket, key);
      return { size: st.size, versionId: st.versionId ?? null };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw storeError(`cannot stat ${key} in ${this.location}`, err);
    }
  }

  async get(key: string): Promise<Readable> {
    const sealed = await this.sealedVersion(key);
    if (!sealed) throw new PermanentError('NOT_FOUND', `no object ${JSON.stringify(key)} in ${this.location}`);
    try {
      return await this.client.getObject(this.bucket, key, { versionId: sealed.versionId });
    } catch (err) {
      if (isNotFound(err)) throw new PermanentError('NOT_FOUND', `no object ${JSON.stringify(key)} in ${this.location}`, { cause: err });
      throw storeError(`cannot read ${key} from ${this.location}`, err);
    }
  }

  async getBytes(key: string): Promise<Buffer> {
    const stream = await this.get(key);
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  async stat(key: string): Promise<{ size: number } | null> {
    const sealed = await this.sealedVersion(key);
    return sealed ? { size: sealed.size } : null;
  }

  /**
   * Keys under a prefix that hold a sealed version, from the version listing: a delete marker hides
   * a key from a plain listing, never from this one (it is reported instead).
   */
  async list(prefix: string): Promise<string[]> {
    assertValidPrefix(prefix);
    const byKey = new Map<string, ObjectVersion[]>();
    try {
      for await (const item of this.client.listObjects(this.bucket, prefix, true, { IncludeVersion: true })) {
        const v = toVersion(item);
        if (!v) continue;
        const list = byKey.get(v.name) ?? [];
        list.push(v);
        byKey.set(v.name, list);
      }
    } catch (err) {
      throw storeError(`cannot list ${prefix} in ${this.location}`, err);
    }
    const keys: string[] = [];
    for (const [key, versions] of byKey) {
      const picked = pickSealedVersion(versions, this.sealedVersions.get(key));
      if (!picked) continue;
      if (picked.above.length > 0) this.report(key, picked.sealed, picked.above);
      keys.push(key);
    }
    return keys.sort();
  }

  async close(): Promise<void> {
    // The minio client keeps no open resources beyond the shared HTTP agent.
  }
}
