import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserPool } from '../../../collectors/browser/pool.js';
import { createLogger } from '../../../lib/logger.js';
import type { Config } from '../../../schemas/config.js';
import { CaptureManifest } from '../../../schemas/manifest.js';
import { PostDocument } from '../../../schemas/post.js';
import { storeKeys } from '../../../evidence/store.js';
import { verifyPackage } from '../../../evidence/package/verify.js';
import { waitForFinal } from '../../../workers/job-state.js';
import { packageCase } from '../../../app/package-case.js';
import type { Services } from '../../../workers/runtime.js';
import { submitCaptures } from '../../../workers/submit.js';
import { loadCases } from '../../collectors/conformance.js';
import type { FixtureSite } from '../../fixtures/fixture-server.js';
import { PLATFORM_FIXTURES } from '../../fixtures/platforms.js';
import { startSampleSite, type SampleSite } from '../../fixtures/sample-site/server.js';
import { python } from '../../support/python.js';
import { startPipelineEnv, type PipelineEnv } from '../../support/pipeline-env.js';
import type { LocalTsa } from '../../support/tsa.js';

const run = promisify(execFile);

/**
 * Every platform, end to end: a visible post of each fixture goes through the queue, the platform
 * collector, the sealer (MinIO) and the custody log; then the whole case is packaged and checked
 * with tools we did not write (sha256sum, Python bagit, openssl pkeyutl and ts -verify).
 */
describe('platform captures through the whole pipeline, packaged and verified with standard tools', () => {
  let env: PipelineEnv<LocalTsa>;
  let tsa: LocalTsa;
  let sample: SampleSite;
  let sites: Array<{ collectorId: string; dir: string; site: FixtureSite }> = [];
  let s: Services;
  let config: Config;
  let stateDir: string;
  const caseId = `C-PLAT-${randomUUID().slice(0, 8)}`;
  const captured = new Map<string, string>();

  beforeAll(async () => {
    sample = await startSampleSite();
    sites = await Promise.all(PLATFORM_FIXTURES.map(async (f) => ({ collectorId: f.collectorId, dir: f.dir, site: await f.start() })));
    const collectors = Object.fromEntries(PLATFORM_FIXTURES.map((f, i) => [f.collectorId, f.options(sites[i]!.site)]));
    env = await startPipelineEnv({
      name: 'plat',
      store: 's3',
      config: { capture: { concurrency: 2, allowPrivateNetwork: true, navigationTimeoutMs: 15_000, settleTimeoutMs: 8_000 }, collectors },
    });
    ({ s, tsa, config, stateDir } = env);
  });

  afterAll(async () => {
    await env?.close();
    await Promise.all(sites.map((x) => x.site.close()));
    await sample?.close();
  });

  it('seals a visible post of every platform with a correct post.json and all its media', async () => {
    const targets = sites.map((x) => {
      const c = loadCases(x.dir, x.site.url).find((k) => k.visibility === 'visible' && k.status === 'captured');
      if (!c) throw new Error(`fixture ${x.collectorId} has no visible case`);
      return { ...x, c, url: `${x.site.url}${c.path}` };
    });
    const outcomes = await submitCaptures(
      [...targets.map((t) => ({ url: t.url, caseId, requestedBy: 'analyst-01', legalBasis: 'Test warrant 7/2026', options: {} })), { url: `${sample.url}/post/1`, caseId, requestedBy: 'analyst-01', options: {} }],
      s,
    );
    const ids = outcomes.map((o) => {
      if (!o.ok) throw new Error(`rejected ${o.url}: ${o.failure.message}`);
      return o.captureId;
    });
    for (const id of ids) {
      const st = await waitForFinal(s, id, { timeoutMs: 400_000, pollMs: 250 });
      expect(st.state, `${st.url}: ${JSON.stringify(st.failure)}`).toBe('sealed');
    }
    for (const [i, t] of targets.entries()) {
      const manifest = CaptureManifest.parse(JSON.parse((await s.store.getBytes(storeKeys.manifest(caseId, ids[i]!))).toString('utf8')));
      expect(manifest.environment.collector.id, t.url).toBe(t.collectorId);
      expect(manifest.status, t.url).toBe('captured');
      const postArtifact = manifest.artifacts.find((a) => a.role === 'post');
      expect(postArtifact, `${t.collectorId}: post.json sealed`).toBeDefined();
      const doc = PostDocument.parse(JSON.parse((await s.store.getBytes(postArtifact!.storeKey)).toString('utf8')));
      expect(doc.visibility.state).toBe('visible');
      if (t.c.post) expect(doc.post, t.collectorId).toMatchObject(t.c.post);
      for (const m of t.c.media ?? []) {
        if (!m.sha256) continue;
        expect(manifest.artifacts.some((a) => a.sha256 === m.sha256 && !a.derivedFrom), `${t.collectorId}: ${m.file} sealed byte-identical`).toBe(true);
      }
      captured.set(t.collectorId, ids[i]!);
    }
  });

  it('packages the case; sha256sum, bagit and openssl accept it and so does verify', async () => {
    expect(captured.size).toBe(sites.length);
    const out = path.join(stateDir, `${caseId}.zip`);
    const browsers = new BrowserPool({ chromiumPath: config.capture.chromiumPath, concurrency: 1, logger: createLogger('warn') });
    try {
      await packageCase(s, browsers, { caseId, outPath: out, actor: { type: 'operator', id: 'prosecutor-01', role: 'prosecutor' } });
    } finally {
      await browsers.close();
    }
    const report = await verifyPackage(out, { trustAnchors: [tsa.caCertPem], signingKeys: (await s.keys.publicKeys()).map((k) => k.fingerprint) });
    expect(report.failures).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.verdict).toBe('verified');
    const dir = path.join(stateDir, 'unzipped');
    await run('unzip', ['-q', out, '-d', dir]);
    const bag = path.join(dir, readdirSync(dir)[0]!);
    await run('sha256sum', ['-c', '--quiet', 'manifest-sha256.txt'], { cwd: bag });
    await run('sha512sum', ['-c', '--quiet', 'manifest-sha512.txt'], { cwd: bag });
    await python('import sys, bagit; b = bagit.Bag(sys.argv[1]); b.validate(); print(len(b.payload_entries()))', [bag]);
    const keys = readdirSync(path.join(bag, 'data/keys'));
    for (const id of readdirSync(path.join(bag, 'data/captures'))) {
      const capDir = path.join(bag, 'data/captures', id);
      const sig = JSON.parse(readFileSync(path.join(capDir, 'manifest.signature.json'), 'utf8')) as { keyFingerprint: string };
      const key = keys.find((k) => sig.keyFingerprint.endsWith(k.replace(/\.pem$/, '')))!;
      await run('sh', ['-c', `openssl dgst -sha256 -binary manifest.json > /tmp/m-${id}.bin && openssl pkeyutl -verify -pubin -inkey ${path.join(bag, 'data/keys', key)} -rawin -in /tmp/m-${id}.bin -sigfile manifest.sig`], { cwd: capDir });
      const ts = await run('openssl', ['ts', '-verify', '-data', 'manifest.json', '-in', 'timestamps/1.tsr', '-CAfile', tsa.caCertPath, '-untrusted', path.join(bag, 'data/tsa/tsa.pem')], { cwd: capDir });
      expect(ts.stdout).toContain('Verification: OK');
    }
  });
});
