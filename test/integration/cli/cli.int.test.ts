import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSampleSite, type SampleSite } from '../../fixtures/sample-site/server.js';
import { startFacebookFixture } from '../../fixtures/facebook/server.js';
import { startMastodonFixture } from '../../fixtures/mastodon/server.js';
import { FsStore } from '../../../evidence/fs-store.js';
import { exhibit, ROOT, startCliEnv, type CliEnv } from '../../support/cli.js';
import type { LocalTsa } from '../../support/tsa.js';

describe('the exhibit CLI on the embedded default (private Redis + local store)', () => {
  let site: SampleSite;
  let cli: CliEnv;
  let tsa: LocalTsa;
  let stateDir: string;
  let env: Record<string, string>;
  let captureId = '';
  const caseId = 'C-2026-001';

  beforeAll(async () => {
    site = await startSampleSite();
    cli = await startCliEnv('cli');
    ({ tsa, stateDir, env } = cli);
  });

  afterAll(async () => {
    await cli?.close();
    await site?.close();
  });

  it('capture --wait seals the sample post and exits 0', async () => {
    const r = await exhibit(['capture', `${site.url}/post/1`, '--case', caseId, '--operator', 'analyst-01', '--allow-private-network', '--wait', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { captures: Array<{ captureId: string; state: string; result: { status: string } }> };
    expect(out.captures).toHaveLength(1);
    expect(out.captures[0]).toMatchObject({ state: 'sealed', result: { status: 'captured' } });
    captureId = out.captures[0]!.captureId;
  });

  it('a separate `exhibit worker` process serves captures that `capture` follows, and stops cleanly on SIGTERM', async () => {
    const worker = spawn(path.join(ROOT, 'exhibit'), ['worker'], { cwd: ROOT, env: { ...process.env, ...env, EXHIBIT_LOG_LEVEL: 'info' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    worker.stderr.on('data', (d) => (log += d));
    try {
      const deadline = Date.now() + 60_000;
      while (!log.includes('workers started')) {
        if (Date.now() > deadline || worker.exitCode !== null) throw new Error(`worker did not start: ${log}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const r = await exhibit(['capture', `${site.url}/redirect`, '--case', caseId, '--operator', 'analyst-02', '--allow-private-network'], env);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/sealed page=captured/);
    } finally {
      const exited = new Promise<number | null>((resolve) => worker.once('exit', (code) => resolve(code)));
      worker.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
    expect(log).toContain('capture sealed');
  });

  it('lists and rotates signing keys; signatures by the old key still verify in a later package', async () => {
    const before = await exhibit(['keys', '--json'], env);
    const old = (JSON.parse(before.stdout) as Array<{ fingerprint: string; active: boolean }>).find((k) => k.active)!.fingerprint;
    const rotated = await exhibit(['keys', 'rotate'], env);
    expect(rotated.code).toBe(0);
    expect(rotated.stdout.trim()).not.toBe(old);
    const after = JSON.parse((await exhibit(['keys', '--json'], env)).stdout) as Array<{ fingerprint: string; active: boolean }>;
    expect(after.map((k) => k.fingerprint)).toContain(old);
    expect(after.find((k) => k.active)?.fingerprint).toBe(rotated.stdout.trim());
    expect((await exhibit(['keys', 'shred'], env)).code).toBe(2);
  });

  it('captures a platform post (Mastodon fixture) into a sealed capture with post.json and its media', async () => {
    const fixture = await startMastodonFixture();
    try {
      const { writeFileSync } = await import('node:fs');
      const yaml = path.join(stateDir, 'exhibit.yaml');
      writeFileSync(yaml, `collectors:\n  mastodon:\n    hosts: ["${fixture.host}"]\n`);
      const r = await exhibit(['capture', `${fixture.url}/@layla/1100`, '--case', 'C-2026-002', '--operator', 'analyst-01', '--allow-private-network', '--wait', '--json'], { ...env, EXHIBIT_CONFIG: yaml });
      expect(r.code, r.stderr).toBe(0);
      const id = (JSON.parse(r.stdout) as { captures: Array<{ captureId: string }> }).captures[0]!.captureId;
      const manifest = JSON.parse((await exhibit(['show', id, '--json'], env)).stdout) as { environment: { collector: { id: string } }; artifacts: Array<{ role: string; name: string; storeKey: string }> };
      expect(manifest.environment.collector.id).toBe('mastodon');
      const post = manifest.artifacts.find((a) => a.role === 'post');
      expect(post?.name).toBe('post.json');
      const store = await FsStore.open(path.join(stateDir, 'store'));
      const doc = JSON.parse((await store.getBytes(post!.storeKey)).toString('utf8')) as { visibility: { state: string }; platform: string; post: unknown };
      expect(doc.visibility.state).toBe('visible');
      expect(doc.platform).toBe('mastodon');
      expect(JSON.stringify(doc.post)).toMatch(/[\u0600-\u06FF]/);
      expect(manifest.artifacts.filter((a) => a.role === 'media').length).toBeGreaterThanOrEqual(2);
    } finally {
      await fixture.close();
    }
  });

  it('a Facebook page in an unknown layout is sealed (exit 0), read the generic way and flagged for review in post.json and the manifest; a mobile story page is visible', async () => {
    const fixture = await startFacebookFixture();
    try {
      const { writeFileSync } = await import('node:fs');
      const yaml = path.join(stateDir, 'exhibit-fb.yaml');
      writeFileSync(yaml, `collectors:\n  facebook:\n    hosts: ["${fixture.host}"]\n`);
      const store = await FsStore.open(path.join(stateDir, 'store'));
      const capture = async (p: string) => {
        const r = await exhibit(['capture', `${fixture.url}${p}`, '--case', 'C-2026-003', '--operator', 'analyst-01', '--allow-private-network', '--wait', '--json'], { ...env, EXHIBIT_CONFIG: yaml });
        expect(r.code, r.stderr).toBe(0);
        const id = (JSON.parse(r.stdout) as { captures: Array<{ captureId: string }> }).captures[0]!.captureId;
        const manifest = JSON.parse((await exhibit(['show', id, '--json'], env)).stdout) as { status: string; failure: unknown; artifacts: Array<{ role: string; storeKey: string; flags: Array<{ code: string }> }> };
        const post = manifest.artifacts.find((a) => a.role === 'post')!;
        const doc = JSON.parse((await store.getBytes(post.storeKey)).toString('utf8')) as { visibility: { state: string }; review: Array<{ code: string }>; post: { text: { content: string } | null; sources: Record<string, string> } | null };
        return { manifest, post, doc };
      };
      const unknown = await capture('/story.php?story_fbid=1122334455669999&id=100064000000001');
      expect(unknown.manifest.status).toBe('captured');
      expect(unknown.manifest.failure).toBeNull();
      expect(unknown.doc.visibility.state).toBe('not-recognised');
      expect(unknown.doc.review.map((r) => r.code)).toEqual(['not-recognised']);
      expect(unknown.post.flags.map((f) => f.code)).toEqual(['visibility-not-recognised', 'needs-review']);
      expect(unknown.doc.post?.text?.content).toContain('توزيع المياه');
      expect(unknown.doc.post?.sources.text).toBe('opengraph');
      const mobile = await capture('/story.php?story_fbid=1122334455667801&id=100064000000001');
      expect(mobile.doc.visibility.state).toBe('visible');
      expect(mobile.doc.review).toEqual([]);
      expect(mobile.post.flags).toEqual([]);
    } finally {
      await fixture.close();
    }
  });

  it('watch add takes the webhook secret from a file, never prints it, and names a missing file (exit 4)', async () => {
    const { writeFileSync } = await import('node:fs');
    const secretFile = path.join(stateDir, 'webhook.secret');
    const secret = 'file-secret-0123456789abcdef';
    writeFileSync(secretFile, `${secret}\n`, { mode: 0o600 });
    const url = `${site.url}/post/1?watched`;
    const added = await exhibit(['watch', 'add', url, '--case', caseId, '--every', '15m', '--operator', 'analyst-01', '--allow-private-network', '--webhook', 'http://127.0.0.1:9/hook', '--webhook-secret-file', secretFile, '--json'], env);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout + added.stderr).not.toContain(secret);
    const id = (JSON.parse(added.stdout) as { watch: { id: string } }).watch.id;
    // The secret read from the file is what the watch signs with (kept in Redis only).
    const stored = await new Promise<string>((resolve, reject) => {
      let text = '';
      const c = spawn('redis-cli', ['-s', path.join(stateDir, 'redis', 'redis.sock'), '--raw', 'HGET', `exhibit:watch:{${id}}`, 'webhookSecret']);
      c.stdout.on('data', (d) => (text += d));
      c.on('exit', (code) => (code === 0 ? resolve(text.trim()) : reject(new Error(`redis-cli ${code}`))));
    });
    expect(stored).toBe(secret);
    const list = await exhibit(['watch', 'list', '--json'], env);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(id);
    expect(list.stdout).not.toContain(secret);
    expect((await exhibit(['watch', 'remove', id], env)).code).toBe(0);
    const missing = await exhibit(['watch', 'add', `${url}&2`, '--case', caseId, '--every', '15m', '--operator', 'analyst-01', '--webhook', 'http://127.0.0.1:9/hook', '--webhook-secret-file', path.join(stateDir, 'nope.secret')], env);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain('nope.secret');
    expect((await exhibit(['watch', 'add', `${url}&3`, '--case', caseId, '--every', '15m', '--operator', 'analyst-01', '--webhook', 'http://127.0.0.1:9/hook'], env)).code).toBe(2);
  });

  it('list and show find the capture; show --json prints the exact manifest', async () => {
    const list = await exhibit(['list', '--case', caseId], env);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(captureId);
    const show = await exhibit(['show', captureId], env);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain(`${site.url}/post/1`);
    expect(show.stdout).toMatch(/Timestamp\s+\d{4}-/);
    const json = await exhibit(['show', captureId, '--json'], env);
    expect(JSON.parse(json.stdout)).toMatchObject({ captureId, caseId, status: 'captured' });
    const status = await exhibit(['status', captureId], env);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('sealed');
  });

  it('exits 4 (INVALID_INPUT) naming the problem for bad URLs, and 6 for an unknown capture', async () => {
    const bad = await exhibit(['capture', 'javascript:alert(1)', '--case', caseId, '--operator', 'analyst-01', '--wait'], env);
    expect(bad.code).toBe(4);
    expect(bad.stderr).toContain('UNSUPPORTED_SCHEME');
    const blocked = await exhibit(['capture', `${site.url}/post/1?blocked`, '--case', caseId, '--operator', 'analyst-01', '--wait'], env);
    expect(blocked.code).toBe(4);
    expect(blocked.stdout + blocked.stderr).toContain('BLOCKED_ADDRESS');
    const missing = await exhibit(['show', '01900000-0000-7000-8000-000000000000'], env);
    expect(missing.code).toBe(6);
  });

  it('exits 5 (CAPTURE_FAILED) when the page answers 404, after sealing what it saw', async () => {
    const r = await exhibit(['capture', `${site.url}/gone`, '--case', caseId, '--operator', 'analyst-01', '--allow-private-network', '--wait'], env);
    expect(r.code).toBe(5);
    expect(r.stdout).toContain('page=failed');
  });

  it('exits 2 on usage errors and 3 on invalid configuration', async () => {
    expect((await exhibit(['capture', `${site.url}/post/1`], env)).code).toBe(2);
    const badConfig = await exhibit(['list', '--case', caseId], { ...env, EXHIBIT_CAPTURE_CONCURRENCY: 'many' });
    expect(badConfig.code).toBe(3);
    expect(badConfig.stderr).toContain('EXHIBIT_CAPTURE_CONCURRENCY');
  });

  it('packages the case, verifies the package (exit 0), and fails verification of a tampered copy (exit 8)', async () => {
    const zip = path.join(stateDir, 'case.zip');
    const pkg = await exhibit(['package', caseId, '-o', zip, '--operator', 'prosecutor-01'], env);
    expect(pkg.code, pkg.stderr).toBe(0);
    expect(pkg.stdout.trim()).toBe(zip);
    const ok = await exhibit(['verify', zip], env);
    expect(ok.code, ok.stdout).toBe(0);
    expect(ok.stdout).toContain('VERIFIED');
    // The package holds captures signed before the rotation and a head signed after it: both keys travel.
    const listing = await new Promise<string>((resolve) => {
      let text = '';
      const c = spawn('unzip', ['-Z1', zip]);
      c.stdout.on('data', (d) => (text += d));
      c.on('exit', () => resolve(text));
    });
    expect(listing.split('\n').filter((l) => /data\/keys\/[0-9a-f]{64}\.pem$/.test(l)).length).toBe(2);
    // Same path again: packages are never overwritten.
    expect((await exhibit(['package', caseId, '-o', zip, '--operator', 'prosecutor-01'], env)).code).toBe(4);
    // Tamper: unzip, flip a byte of the screenshot, verify the directory.
    const dir = path.join(stateDir, 'unzipped');
    await new Promise<void>((resolve, reject) => {
      const c = spawn('unzip', ['-q', zip, '-d', dir]);
      c.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`unzip ${code}`))));
    });
    const { readdirSync, readFileSync, writeFileSync, chmodSync } = await import('node:fs');
    const bag = path.join(dir, readdirSync(dir)[0]!);
    const shot = path.join(bag, 'data', 'captures', captureId, 'artifacts', 'screenshot.png');
    const bytes = readFileSync(shot);
    const mid = bytes.length >> 1;
    bytes[mid] = bytes[mid]! ^ 0xff;
    chmodSync(shot, 0o644);
    writeFileSync(shot, bytes);
    const bad = await exhibit(['verify', bag, '--json'], env);
    expect(bad.code).toBe(8);
    const report = JSON.parse(bad.stdout) as { ok: boolean; failures: Array<{ item: string }> };
    expect(report.ok).toBe(false);
    expect(report.failures.some((f) => f.item.endsWith('artifacts/screenshot.png'))).toBe(true);
  });

  it('package --graph carries the case graph under data/analysis/, built from the packaged captures, and verifies', async () => {
    const zip = path.join(stateDir, 'with-graph.zip');
    const pkg = await exhibit(['package', caseId, '-o', zip, '--graph', '--operator', 'prosecutor-01'], env);
    expect(pkg.code, pkg.stderr).toBe(0);
    const ok = await exhibit(['verify', zip, '--json'], env);
    expect(ok.code, ok.stdout).toBe(0);
    const report = JSON.parse(ok.stdout) as { captureIds: string[]; checks: Array<{ item: string; check: string; ok: boolean; message: string }> };
    expect(report.checks.filter((c) => c.check === 'analysis-graph-captures').map((c) => [c.item, c.ok])).toEqual([['data/analysis/case-graph.json', true], ['data/analysis/case-graph.graphml', true]]);
    const listing = await new Promise<string>((resolve) => {
      let text = '';
      const c = spawn('unzip', ['-p', zip, '*/data/analysis/case-graph.json']);
      c.stdout.on('data', (d) => (text += d));
      c.on('exit', () => resolve(text));
    });
    const doc = JSON.parse(listing) as { captures: Array<{ captureId: string }>; skipped: Array<{ captureId: string }> };
    // Every packaged capture was read: into the graph, or listed as skipped (no post.json).
    expect([...doc.captures, ...doc.skipped].map((x) => x.captureId).sort()).toEqual([...report.captureIds].sort());
  });

  it('packaging while no TSA answers exits 7 (UNSEALED) saying so; with the TSA back the next package verifies, and a recipient who pinned the old key authenticates the rotated one', async () => {
    const down = path.join(stateDir, 'outage.zip');
    const r = await exhibit(['package', caseId, '-o', down, '--operator', 'prosecutor-01'], { ...env, EXHIBIT_TSA_URLS: 'http://127.0.0.1:9/tsa' });
    expect(r.code, r.stderr).toBe(7);
    expect(r.stderr).toMatch(/UNSEALED: the package was written but is NOT sealed and will not verify/);
    expect((await exhibit(['verify', down], env)).code).toBe(8);
    const back = path.join(stateDir, 'after-outage.zip');
    expect((await exhibit(['package', caseId, '-o', back, '--operator', 'prosecutor-01'], env)).code).toBe(0);
    const ok = await exhibit(['verify', back], env);
    expect(ok.code, ok.stdout).toBe(0);
    expect(ok.stdout).toMatch(/^VERIFIED: .*pinned: local key store, local TSA configuration/m);
    // A recipient elsewhere who pinned only the first key (before `keys rotate`) and the TSA CA.
    const keys = JSON.parse((await exhibit(['keys', '--json'], env)).stdout) as Array<{ fingerprint: string; active: boolean }>;
    const first = keys.find((k) => !k.active)!.fingerprint;
    const recipient = await exhibit(['verify', back, '--no-trust-store', '--signing-key', first, '--tsa-ca', tsa.caCertPath], env);
    expect(recipient.code, recipient.stdout).toBe(0);
    expect(recipient.stdout).toContain('signed rotation from a pinned key');
  });
});
