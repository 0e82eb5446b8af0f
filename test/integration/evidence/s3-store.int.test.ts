import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'minio';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openStore } from '../../../evidence/open-store.js';
import { S3Store, type S3StoreConfig } from '../../../evidence/s3-store.js';
import { configFrom } from '../../../lib/config.js';
import type { StoreFinding } from '../../../evidence/store.js';
import { describeStoreContract } from '../../support/store-contract.js';

const minio = inject('minio');
const raw = new Client({ endPoint: minio.endPoint, port: minio.port, useSSL: false, accessKey: minio.accessKey, secretKey: minio.secretKey, region: 'us-east-1' });

function s3Config(bucket: string, over: Partial<S3StoreConfig> = {}): S3StoreConfig {
  return configFrom({
    store: { kind: 's3', s3: { endPoint: minio.endPoint, port: minio.port, accessKey: minio.accessKey, secretKey: minio.secretKey, bucket, retentionMode: 'GOVERNANCE', retentionDays: 1, ...over } },
  }).store.s3;
}

/** Remove every version (GOVERNANCE lets a privileged caller bypass) and the bucket; COMPLIANCE buckets stay. */
async function dropBucket(bucket: string): Promise<void> {
  try {
    const versions: Array<{ name: string; versionId?: string }> = [];
    for await (const o of raw.listObjects(bucket, '', true, { IncludeVersion: true })) {
      const item = o as { name?: string; versionId?: string };
      if (item.name) versions.push({ name: item.name, versionId: item.versionId });
    }
    for (const v of versions) await raw.removeObject(bucket, v.name, { versionId: v.versionId, governanceBypass: true });
    await raw.removeBucket(bucket);
  } catch {
    // COMPLIANCE-locked objects cannot be removed by anyone until they expire; MinIO's data dir goes at teardown.
  }
}

const newBucket = () => `t-${randomUUID()}`;

describeStoreContract('S3Store (MinIO, Object Lock)', async () => {
  const bucket = newBucket();
  const store = await S3Store.open(s3Config(bucket));
  return { store, cleanup: () => dropBucket(bucket) };
});

describe('S3Store retention on real MinIO', () => {
  let bucket: string;
  let store: S3Store;
  let work: string;
  beforeAll(async () => {
    bucket = newBucket();
    store = await S3Store.open(s3Config(bucket));
    work = mkdtempSync(path.join(os.tmpdir(), 'exhibit-s3-'));
  });
  afterAll(async () => {
    await dropBucket(bucket);
    rmSync(work, { recursive: true, force: true });
  });

  it('creates the bucket with Object Lock, versioning and the configured default retention', async () => {
    expect(await raw.getObjectLockConfig(bucket)).toMatchObject({ objectLockEnabled: 'Enabled', mode: 'GOVERNANCE', unit: 'Days', validity: 1 });
    expect(await raw.getBucketVersioning(bucket)).toMatchObject({ Status: 'Enabled' });
  });

  it('stores blobs with sha256/sha512 metadata and a retention; the version cannot be deleted without bypass', async () => {
    const p = path.join(work, 'blob.bin');
    const bytes = randomBytes(50_000);
    writeFileSync(p, bytes);
    const blob = await store.putFile(p, { contentType: 'image/jpeg' });
    const st = await raw.statObject(bucket, blob.key);
    expect(st.metaData).toMatchObject({ sha256: blob.sha256, sha512: blob.sha512, 'content-type': 'image/jpeg' });
    expect(st.versionId).toBeTruthy();
    const ret = await raw.getObjectRetention(bucket, blob.key, { versionId: st.versionId! });
    expect(ret?.mode).toBe('GOVERNANCE');
    expect(Date.parse(ret!.retainUntilDate)).toBeGreaterThan(Date.now() + 23 * 3600 * 1000);

    // GOVERNANCE: deleting the version without the bypass header is refused by the server.
    await expect(raw.removeObject(bucket, blob.key, { versionId: st.versionId! })).rejects.toMatchObject({ code: expect.stringMatching(/AccessDenied|ObjectLocked|InvalidRequest/) });
    // Shortening the retention without bypass is refused too.
    await expect(raw.putObjectRetention(bucket, blob.key, { versionId: st.versionId!, mode: 'GOVERNANCE' as never, retainUntilDate: new Date(Date.now() + 60_000).toISOString() })).rejects.toThrow();
    expect((await store.getBytes(blob.key)).equals(bytes)).toBe(true);
  });

  it('a plain DELETE only adds a delete marker: the locked version and its bytes stay', async () => {
    const rec = 'cases/C-ret/captures/x/manifest.json';
    await store.putRecord(rec, Buffer.from('{"sealed":true}'));
    const { versionId } = await raw.statObject(bucket, rec);
    await raw.removeObject(bucket, rec);
    const back = await raw.getObject(bucket, rec, { versionId: versionId! });
    const chunks: Buffer[] = [];
    for await (const c of back) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('{"sealed":true}');
  });

  it('overwrites fail: putRecord is a STORE_CONFLICT, a raw If-None-Match PUT is refused by the server', async () => {
    const key = 'cases/C-ret/custody/000001.json';
    await store.putRecord(key, Buffer.from('{"seq":1}'));
    await expect(store.putRecord(key, Buffer.from('{"seq":2}'))).rejects.toMatchObject({ name: 'IntegrityError', code: 'STORE_CONFLICT' });
    // The server itself enforces create-if-absent (no check-then-put race for records).
    await expect(raw.putObject(bucket, key, Buffer.from('{"seq":666}'), undefined, { 'If-None-Match': '*' })).rejects.toMatchObject({ code: 'PreconditionFailed' });
    expect((await store.getBytes(key)).toString()).toBe('{"seq":1}');
  });

  it('a raw overwrite without the condition makes a new version; the sealed version stays retained and readable', async () => {
    const key = 'cases/C-ret/captures/y/manifest.json';
    await store.putRecord(key, Buffer.from('{"v":"sealed"}'));
    const { versionId } = await raw.statObject(bucket, key);
    await raw.putObject(bucket, key, Buffer.from('{"v":"forged"}'));
    await expect(raw.removeObject(bucket, key, { versionId: versionId! })).rejects.toThrow();
    const back = await raw.getObject(bucket, key, { versionId: versionId! });
    const chunks: Buffer[] = [];
    for await (const c of back) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('{"v":"sealed"}');
    // Our store compares with the sealed version, never the forged one: the sealed bytes again are a
    // no-op, the forged bytes a conflict.
    expect(await store.putRecord(key, Buffer.from('{"v":"sealed"}'))).toMatchObject({ created: false, versionId });
    await expect(store.putRecord(key, Buffer.from('{"v":"forged"}'))).rejects.toMatchObject({ code: 'STORE_CONFLICT' });
  });

  it('reads pin the version written at seal: a newer version or a delete marker is reported once, the sealed bytes are served', async () => {
    const over = 'cases/C-pin/captures/a/manifest.json';
    const gone = 'cases/C-pin/captures/b/manifest.json';
    const put = await store.putRecord(over, Buffer.from('{"v":"sealed-a"}'));
    expect(put.versionId).toBe((await raw.statObject(bucket, over)).versionId);
    await store.putRecord(gone, Buffer.from('{"v":"sealed-b"}'));
    const blob = await store.putBytes(Buffer.from('sealed blob'));
    expect(blob.versionId).toBeTruthy();
    const forged = await raw.putObject(bucket, over, Buffer.from('{"v":"forged"}'));
    await raw.putObject(bucket, blob.key, Buffer.from('forged blob!'));
    await raw.removeObject(bucket, gone);

    // Another process: nothing remembered from the writes above, the pin comes from the bucket itself.
    const reader = await S3Store.open(s3Config(bucket));
    const findings: StoreFinding[] = [];
    reader.onFinding = (f) => findings.push(f);
    for (let i = 0; i < 2; i++) {
      expect((await reader.getBytes(over)).toString()).toBe('{"v":"sealed-a"}');
      expect((await reader.getBytes(blob.key)).toString()).toBe('sealed blob');
      expect(await reader.stat(blob.key)).toEqual({ size: 11 });
      expect((await reader.getBytes(gone)).toString()).toBe('{"v":"sealed-b"}');
      expect(await reader.list('cases/C-pin/')).toEqual([over, gone]);
    }
    expect(findings.map((f) => f.key).sort()).toEqual([gone, over, blob.key].sort());
    expect(findings.find((f) => f.key === over)).toEqual({ key: over, sealedVersionId: put.versionId, above: [{ versionId: forged.versionId, deleteMarker: false }] });
    expect(findings.find((f) => f.key === gone)?.above).toEqual([{ versionId: expect.any(String), deleteMarker: true }]);
    // Something new on top later is a new finding.
    await raw.putObject(bucket, over, Buffer.from('{"v":"forged again"}'));
    expect((await reader.getBytes(over)).toString()).toBe('{"v":"sealed-a"}');
    expect(findings.filter((f) => f.key === over)).toHaveLength(2);
  });

  it('COMPLIANCE retention cannot be bypassed even with the governance bypass header', async () => {
    const b = newBucket();
    const compliance = await S3Store.open(s3Config(b, { retentionMode: 'COMPLIANCE' }));
    const blob = await compliance.putBytes(Buffer.from('compliance-locked'));
    const { versionId } = await raw.statObject(b, blob.key);
    expect((await raw.getObjectRetention(b, blob.key, { versionId: versionId! }))?.mode).toBe('COMPLIANCE');
    await expect(raw.removeObject(b, blob.key, { versionId: versionId!, governanceBypass: true })).rejects.toThrow();
  });

  it('refuses an existing bucket without Object Lock, with a clear ConfigError', async () => {
    const b = newBucket();
    await raw.makeBucket(b, 'us-east-1');
    const err = await S3Store.open(s3Config(b)).catch((e: unknown) => e as Error & { code?: string });
    expect(err).toMatchObject({ name: 'ConfigError', code: 'INVALID_CONFIG' });
    expect((err as Error).message).toMatch(/Object Lock/);
    await raw.removeBucket(b);
  });

  it('adopts an existing locked bucket and sets the default retention when it has none', async () => {
    const b = newBucket();
    await raw.makeBucket(b, 'us-east-1', { ObjectLocking: true });
    expect(await raw.getObjectLockConfig(b)).not.toHaveProperty('mode');
    const s = await openStore(configFrom({ store: { kind: 's3', s3: s3Config(b, { retentionDays: 2 }) } }).store);
    expect(s.kind).toBe('s3');
    expect(s.location).toBe(`s3://${b}`);
    expect(await raw.getObjectLockConfig(b)).toMatchObject({ mode: 'GOVERNANCE', validity: 2 });
    await dropBucket(b);
  });

  it('refuses credentials that are missing before talking to the server', async () => {
    await expect(S3Store.open(s3Config(newBucket(), { accessKey: '' }))).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
  });
});
