import type { Readable } from 'node:stream';
import { toFailure } from '../lib/errors.js';
import { metrics, secondsSince } from '../lib/metrics.js';
import type { EvidenceStore, StoreFinding, StoredBlob } from './store.js';

/**
 * An evidence store that times every operation and counts its errors (lib/metrics.ts). A read of a
 * missing object (NOT_FOUND) is an answer, not a store error. `get` is timed to the open stream,
 * not to the end of the body.
 */
export class MeteredStore implements EvidenceStore {
  constructor(private readonly inner: EvidenceStore) {}

  get kind(): EvidenceStore['kind'] {
    return this.inner.kind;
  }
  get location(): string {
    return this.inner.location;
  }
  get onFinding(): ((finding: StoreFinding) => void) | undefined {
    return this.inner.onFinding;
  }
  set onFinding(handler: ((finding: StoreFinding) => void) | undefined) {
    this.inner.onFinding = handler;
  }

  private async timed<T>(op: string, fn: () => Promise<T>): Promise<T> {
    const started = process.hrtime.bigint();
    try {
      const out = await fn();
      metrics.storeRequest.observe({ store: this.inner.kind, op, outcome: 'ok' }, secondsSince(started));
      return out;
    } catch (err) {
      const { code } = toFailure(err);
      metrics.storeRequest.observe({ store: this.inner.kind, op, outcome: code === 'NOT_FOUND' ? 'not-found' : 'error' }, secondsSince(started));
      if (code !== 'NOT_FOUND') metrics.storeErrors.inc({ store: this.inner.kind, op, code });
      throw err;
    }
  }

  putFile(filePath: string, opts?: { expectSha256?: string; contentType?: string }): Promise<StoredBlob> {
    return this.timed('put-file', () => this.inner.putFile(filePath, opts));
  }
  putBytes(bytes: Uint8Array, opts?: { contentType?: string }): Promise<StoredBlob> {
    return this.timed('put-bytes', () => this.inner.putBytes(bytes, opts));
  }
  putRecord(key: string, bytes: Uint8Array, opts?: { contentType?: string }): Promise<{ created: boolean; versionId?: string }> {
    return this.timed('put-record', () => this.inner.putRecord(key, bytes, opts));
  }
  get(key: string): Promise<Readable> {
    return this.timed('get', () => this.inner.get(key));
  }
  getBytes(key: string): Promise<Buffer> {
    return this.timed('get-bytes', () => this.inner.getBytes(key));
  }
  stat(key: string): Promise<{ size: number } | null> {
    return this.timed('stat', () => this.inner.stat(key));
  }
  list(prefix: string): Promise<string[]> {
    return this.timed('list', () => this.inner.list(prefix));
  }
  async close(): Promise<void> {
    await this.inner.close?.();
  }
}
