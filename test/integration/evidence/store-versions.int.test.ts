/**
 * Someone with the MinIO root user writes over sealed evidence: a newer version over a locked
 * object (Object Lock allows new versions) or a delete marker over it. Reads must keep serving the
 * version written at seal, and the tampering must be on the case's custody log, once per finding.
 * Real pipeline (Redis, Chromium, TSA, MinIO); `show`, `list` and `package` through the front door.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'minio';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { configFrom } from '../../../lib/config.js';
import { createLogger } from '../../../lib/logger.js';
import type { Config } from '../../../schemas/config.js';
import { verifyChain } from '../../../evidence/custody.js';
import { storeKeys } from '../../../evidence/store.js';
import { waitForFinal } from '../../../workers/job-state.js';
import { openServices, startWorkers, type Services } from '../../../workers/runtime.js';
import { submitCaptures } from '../../../workers/submit.js';
import { startSampleSite, type SampleSite } from '../../fixtures/sample-site/server.js';
import { exhibit } from '../../support/cli.js';
import { startLocalTsa, type LocalTsa } from '../../support/tsa.js';

const minio = inject('minio');
// The attacker: MinIO's root user, outside the application.
const root = new Client({ endPoint: minio.endPoint, port: minio.port, useSSL: false, accessKey: minio.accessKey, secretKey: minio.secretKey, region: 'us-east-1' });

describe('reads pin the version written at seal (MinIO, Object Lock)', () => {
  let site: SampleSite;
  let tsa: LocalTsa;
  let stateDir: string;
  let config: Config;
  let configFile: string;
  const bucket = `v-${randomUUID()}`;
  const caseId = `C-VER-${randomUUID().slice(0, 6)}`;
  let ids: string[];
  const sealedManifest = new Map<string, Buffer>();

  const cli = (args: string[]) => exhibit(['-c', configFile, ...args], { EXHIBIT_LOG_LEVEL: 'warn' });

  async function tamperEvents(key: string): Promise<Array<{ details: Record<string, unknown>; captureId?: string }>> {
    const s = await openServices(config, createLogger('warn'));
    try {
      await s.custody.sync(caseId);
      const events = await s.custody.readLog(caseId);
      expect(verifyChain(caseId, events.map((e) => e.bytes))).toEqual([]);
      return events.filter((e) => e.event.action === 'store-tampered' && e.event.details.key === key).map((e) => ({ details: e.event.details, captureId: e.event.subject.captureId }));
    } finally {
      await s.close();
    }
  }

  beforeAll(async () => {
    site = await startSampleSite();
    tsa = await startLocalTsa();
    stateDir = mkdtempSync(path.join(os.tmpdir(), 'exhibit-versions-'));
    const raw = {
      stateDir,
      redis: { url: inject('redisUrl'), prefix: `v${randomUUID().slice(0, 8)}` },
      store: { kind: 's3', s3: { endPoint: minio.endPoint, port: minio.port, accessKey: minio.accessKey, secretKey: minio.secretKey, bucket, retentionMode: 'GOVERNANCE', retentionDays: 1 } },
      tsa: { urls: [tsa.url], caFiles: [tsa.caCertPath] },
      capture: { concurrency: 2, navigationTimeoutMs: 8_000, settleTimeoutMs: 5_000, timeoutMs: 30_000, allowPrivateNetwork: true },
      log: { level: 'warn' },
    };
    configFile = path.join(stateDir, 'config.yaml');
    writeFileSync(configFile, JSON.stringify(raw));
    config = configFrom(raw);
    const s: Services = await openServices(config, createLogger('warn'));
    try {
      const outcomes = await submitCaptures([1, 2].map((n) => ({ url: `${site.url}/post/1?n=${n}`, caseId, requestedBy: 'analyst-01', options: { allowPrivateNetwork: true } })), s);
      ids = outcomes.map((o) => (o.ok ? o.captureId : (() => { throw new Error(JSON.stringify(o)); })()));
      const workers = await startWorkers(s, { capture: true, seal: true, watch: false });
      try {
        for (const id of ids) expect((await waitForFinal(s, id, { timeoutMs: 120_000 })).state).toBe('sealed');
      } finally {
        await workers.close();
      }
      for (const id of ids) sealedManifest.set(id, await s.store.getBytes(storeKeys.manifest(caseId, id)));
    } finally {
      await s.close();
    }
  }, 240_000);

  afterAll(async () => {
    await site?.close();
    await tsa?.close();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
    // Locked versions stay until retention ends; MinIO's data dir goes at teardown.
  });

  it('a newer version over a locked manifest: show and package serve the sealed bytes; one store-tampered event names the object', async () => {
    const id = ids[0]!;
    const key = storeKeys.manifest(caseId, id);
    // Object Lock allows a new version over a locked one; without pinning, readers got this and failed schema parsing.
    const forged = await root.putObject(bucket, key, Buffer.from('{"forged":true}'), undefined, { 'Content-Type': 'application/json' });
    expect(forged.versionId).toBeTruthy();

    const shown = await cli(['show', id, '--case', caseId, '--json']);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout.trimEnd()).toBe(sealedManifest.get(id)!.toString('utf8'));

    const zip = path.join(stateDir, `case-${randomUUID()}.zip`);
    const packed = await cli(['package', caseId, '--out', zip, '--json']);
    expect(packed.code, packed.stderr).toBe(0);
    expect(JSON.parse(packed.stdout).captureIds).toEqual(expect.arrayContaining(ids));
    const entry = execFileSync('unzip', ['-Z1', zip]).toString('utf8').split('\n').find((n) => n.endsWith(`data/captures/${id}/manifest.json`));
    expect(entry).toBeTruthy();
    const inZip = execFileSync('unzip', ['-p', zip, entry!]);
    expect(Buffer.compare(inZip, sealedManifest.get(id)!)).toBe(0);

    // Three processes read it (show, package, and the finding check itself): one event.
    const events = await tamperEvents(key);
    expect(events).toHaveLength(1);
    expect(events[0]!.captureId).toBe(id);
    expect(events[0]!.details).toMatchObject({ kind: 'integrity', key, above: [{ versionId: forged.versionId, deleteMarker: false }] });
    expect(events[0]!.details.sealedVersionId).not.toBe(forged.versionId);
  }, 240_000);

  it('a delete marker over a manifest: the capture is still listed and shown; one store-tampered event names the object', async () => {
    const id = ids[1]!;
    const key = storeKeys.manifest(caseId, id);
    await root.removeObject(bucket, key);
    // The attack took: a plain listing no longer shows the manifest.
    const plain: string[] = [];
    for await (const o of root.listObjectsV2(bucket, storeKeys.captureDir(caseId, id), true)) plain.push((o as { name: string }).name);
    expect(plain).not.toContain(key);

    const listed = await cli(['list', '--case', caseId, '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    expect((JSON.parse(listed.stdout) as Array<{ captureId: string }>).map((r) => r.captureId).sort()).toEqual([...ids].sort());

    const shown = await cli(['show', id, '--case', caseId, '--json']);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout.trimEnd()).toBe(sealedManifest.get(id)!.toString('utf8'));

    const events = await tamperEvents(key);
    expect(events).toHaveLength(1);
    expect(events[0]!.details).toMatchObject({ kind: 'integrity', key, above: [{ deleteMarker: true }] });
  }, 240_000);
});
