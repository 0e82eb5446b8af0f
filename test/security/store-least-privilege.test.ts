import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'minio';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { configFrom } from '../../lib/config.js';
import { S3Store } from '../../evidence/s3-store.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const POLICY_FILE = path.join(ROOT, 'deploy/minio/app-policy.json');
const HOUR = 3600_000;

/**
 * The application's MinIO user, made with the policy docker-compose installs (deploy/minio/app-policy.json)
 * through MinIO's admin API (`mc admin`), against the real server. Every way the root user could
 * destroy or loosen evidence is tried with the application's keys and must be refused; each refused
 * operation is shown to work with the root user on the same bucket, so the refusal is the policy's.
 */
describe('least privilege: the application MinIO user cannot destroy or loosen evidence', () => {
  const minio = inject('minio');
  const bucket = `lp-${randomUUID().slice(0, 12)}`;
  const appUser = `exhibit-app-${randomUUID().slice(0, 8)}`;
  const appSecret = `secret-${randomUUID()}`;
  let mcDir: string;
  let root: Client;
  let app: Client;
  let store: S3Store;
  let key: string;
  let versionId: string;

  async function mc(...args: string[]): Promise<string> {
    const bin = process.env.EXHIBIT_MC_BIN;
    if (!bin) throw new Error('EXHIBIT_MC_BIN is unset: run the tests with ./exhibit test, which builds mc');
    const env = { ...process.env, MC_HOST_lp: `http://${minio.accessKey}:${minio.secretKey}@${minio.endPoint}:${minio.port}` };
    return (await run(bin, ['--config-dir', mcDir, ...args], { env })).stdout;
  }

  async function denied(p: Promise<unknown>): Promise<void> {
    await expect(p).rejects.toMatchObject({ code: 'AccessDenied' });
  }

  beforeAll(async () => {
    mcDir = mkdtempSync(path.join(os.tmpdir(), 'exhibit-mc-'));
    root = new Client({ endPoint: minio.endPoint, port: minio.port, useSSL: false, accessKey: minio.accessKey, secretKey: minio.secretKey });
    // The set-up container's part, done by root: a locked bucket with a GOVERNANCE default (the mode
    // in which the root user can still bypass, so a refusal below is the policy's, not the mode's).
    await root.makeBucket(bucket, 'us-east-1', { ObjectLocking: true });
    await (root.setObjectLockConfig(bucket, { mode: 'GOVERNANCE' as never, unit: 'Days' as never, validity: 30 }) as unknown as Promise<void>);
    const policy = readFileSync(POLICY_FILE, 'utf8').replaceAll('@BUCKET@', bucket);
    writeFileSync(path.join(mcDir, 'policy.json'), policy);
    const policyName = `exhibit-app-${bucket}`;
    await mc('admin', 'user', 'add', 'lp', appUser, appSecret);
    await mc('admin', 'policy', 'create', 'lp', policyName, path.join(mcDir, 'policy.json'));
    await mc('admin', 'policy', 'attach', 'lp', policyName, '--user', appUser);
    app = new Client({ endPoint: minio.endPoint, port: minio.port, useSSL: false, accessKey: appUser, secretKey: appSecret });
    const config = configFrom({ store: { kind: 's3', s3: { endPoint: minio.endPoint, port: minio.port, accessKey: appUser, secretKey: appSecret, bucket, retentionMode: 'GOVERNANCE', retentionDays: 1 } } });
    // The application opens the store and writes evidence with its own keys.
    store = await S3Store.open(config.store.s3);
    const blob = await store.putBytes(Buffer.from(`evidence ${randomUUID()}\n`));
    key = blob.key;
    await store.putRecord(`cases/LP/captures/${randomUUID()}/record.json`, Buffer.from('{"a":1}\n'));
    versionId = (await root.statObject(bucket, key)).versionId!;
    expect(versionId).toBeTruthy();
  }, 120_000);

  afterAll(() => {
    if (mcDir) rmSync(mcDir, { recursive: true, force: true });
  });

  it('the application user is not the root user; what it writes is readable and carries the bucket default retention', async () => {
    expect(appUser).not.toBe(minio.accessKey);
    expect((await store.getBytes(key)).toString()).toMatch(/^evidence /);
    const r = await root.getObjectRetention(bucket, key, { versionId });
    expect(r).toMatchObject({ mode: 'GOVERNANCE' });
    expect(Date.parse(r!.retainUntilDate!)).toBeGreaterThan(Date.now() + 29 * 24 * HOUR);
  });

  it('cannot delete an object version (DeleteObject with versionId)', async () => {
    await denied(app.removeObject(bucket, key, { versionId }));
  });

  it('cannot delete a version bypassing governance mode', async () => {
    await denied(app.removeObject(bucket, key, { versionId, governanceBypass: true }));
  });

  // MinIO (this server era) lets any caller allowed s3:PutObjectRetention shorten GOVERNANCE retention
  // by sending the bypass header, even with s3:BypassGovernanceRetention denied: the policy therefore
  // allows setting COMPLIANCE retention only.
  it('cannot shorten retention, with or without the bypass header', async () => {
    const before = (await root.getObjectRetention(bucket, key, { versionId }))!.retainUntilDate;
    const shorter = new Date(Date.now() + HOUR).toISOString();
    // Without the header the lock itself refuses (any caller); with it, only the policy stands in the way.
    await expect(app.putObjectRetention(bucket, key, { mode: 'GOVERNANCE' as never, retainUntilDate: shorter, versionId })).rejects.toMatchObject({ name: 'S3Error' });
    await denied(app.putObjectRetention(bucket, key, { mode: 'GOVERNANCE' as never, retainUntilDate: shorter, versionId, governanceBypass: true }));
    expect((await root.getObjectRetention(bucket, key, { versionId }))!.retainUntilDate).toBe(before);
  });

  it('cannot set a lifecycle (expiry) rule on the bucket', async () => {
    await denied(app.setBucketLifecycle(bucket, { Rule: [{ ID: 'expire-all', Status: 'Enabled', Filter: { Prefix: '' }, Expiration: { Days: 1 } }] } as never));
  });

  it("cannot change the bucket's default retention or suspend versioning", async () => {
    await denied(app.setObjectLockConfig(bucket, { mode: 'GOVERNANCE' as never, unit: 'Days' as never, validity: 1 }) as unknown as Promise<void>);
    await denied(app.setBucketVersioning(bucket, { Status: 'Suspended' }) as unknown as Promise<void>);
    const lock = (await (root.getObjectLockConfig(bucket) as unknown as Promise<unknown>)) as { mode?: string; validity?: number };
    expect(lock).toMatchObject({ mode: 'GOVERNANCE', validity: 30 });
  });

  it('a plain DELETE leaves the evidence readable, also by its version id', async () => {
    await app.removeObject(bucket, key).catch((e: { code?: string }) => expect(e.code).toBe('AccessDenied'));
    expect((await store.getBytes(key)).toString()).toMatch(/^evidence /);
    const chunks: Buffer[] = [];
    for await (const c of await app.getObject(bucket, key, { versionId })) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toMatch(/^evidence /);
  });

  it('control: the root user can do what the application user was refused, on the same bucket', async () => {
    const { key: other } = await store.putBytes(Buffer.from(`control ${randomUUID()}\n`));
    const otherVersion = (await root.statObject(bucket, other)).versionId!;
    await root.putObjectRetention(bucket, other, { mode: 'GOVERNANCE' as never, retainUntilDate: new Date(Date.now() + HOUR).toISOString(), versionId: otherVersion, governanceBypass: true });
    await root.removeObject(bucket, other, { versionId: otherVersion, governanceBypass: true });
    await expect(root.statObject(bucket, other)).rejects.toMatchObject({ code: 'NotFound' });
    await root.setBucketLifecycle(bucket, { Rule: [{ ID: 'expire-all', Status: 'Enabled', Filter: { Prefix: '' }, Expiration: { Days: 1 } }] } as never);
    await root.removeBucketLifecycle(bucket);
  });
});
