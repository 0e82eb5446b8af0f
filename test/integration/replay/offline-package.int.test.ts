import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PackageJob } from '../../../schemas/api.js';
import { verifyPackage } from '../../../evidence/package/verify.js';
import { startReplayEnv, type ReplayEnv } from './replay-env.js';

const run = promisify(execFile);
const CASE = 'C-REPLAY-PKG';

/** A free loopback port (the instructions name 8080; this machine is shared). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/**
 * A recipient without Exhibit: unzips a certified package, runs the one-line command VERIFY.txt
 * gives, opens the address it names in Chromium and sees the captured post replayed from the
 * archive inside the package. The viewer files are bag files under the package seal.
 */
describe('offline replay from a certified package (Chromium, python3 http.server)', () => {
  let env: ReplayEnv;
  let captureId: string;
  let tmp: string;
  let bag: string;
  let server: ChildProcess | null = null;

  beforeAll(async () => {
    env = await startReplayEnv([
      { name: 'analyst-pkg', role: 'analyst', cases: [CASE] },
      { name: 'prosecutor-pkg', role: 'prosecutor', cases: [CASE] },
    ]);
    captureId = await env.capture('analyst-pkg', CASE, `${env.h.site.url}/post/1`);
    const auth = { authorization: `Bearer ${env.h.tokens['prosecutor-pkg']}`, 'content-type': 'application/json' };
    let job = PackageJob.parse(await (await env.h.api.app.request(`/api/cases/${CASE}/packages`, { method: 'POST', headers: auth, body: '{}' })).json());
    const deadline = Date.now() + 150_000;
    while (job.state === 'building' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 300));
      job = PackageJob.parse(await (await env.h.api.app.request(`/api/cases/${CASE}/packages/${job.packageId}`, { headers: auth })).json());
    }
    expect(job.state).toBe('ready');
    tmp = await mkdtemp(path.join(os.tmpdir(), 'exhibit-offline-replay-'));
    const zip = path.join(tmp, job.fileName);
    await writeFile(zip, Buffer.from(await (await env.h.api.app.request(`/api/cases/${CASE}/packages/${job.packageId}/download`, { headers: auth })).arrayBuffer()));
    await run('unzip', ['-q', zip, '-d', path.join(tmp, 'unzipped')]);
    const { stdout } = await run('find', [path.join(tmp, 'unzipped'), '-maxdepth', '2', '-name', 'bagit.txt']);
    bag = path.dirname(stdout.trim());
  });
  afterAll(async () => {
    if (server && server.exitCode === null) server.kill('SIGTERM');
    await env?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('following VERIFY.txt (serve data/ on loopback, open /replay/) shows the post, Arabic text and photo, replayed from the package', async () => {
    const verifyTxt = await readFile(path.join(bag, 'data/VERIFY.txt'), 'utf8');
    const readme = await readFile(path.join(bag, 'data/README.txt'), 'utf8');
    const cmdLine = verifyTxt.split('\n').map((l) => l.trim()).find((l) => l.startsWith('python3 -m http.server'));
    const urlLine = verifyTxt.split('\n').map((l) => l.trim()).find((l) => /^http:\/\/127\.0\.0\.1:\d+\/replay\/$/.test(l));
    expect(cmdLine).toBe('python3 -m http.server --bind 127.0.0.1 --directory data 8080');
    expect(urlLine).toBe('http://127.0.0.1:8080/replay/');
    expect(readme).toContain(cmdLine);
    expect(readme).toContain(urlLine);
    // As written, but on a free port: other programs on this machine may hold 8080.
    const port = await freePort();
    const [, ...args] = cmdLine!.replace(/ 8080$/, ` ${port}`).split(' ');
    server = spawn('python3', args, { cwd: bag, stdio: ['ignore', 'ignore', 'pipe'] });
    let serverLog = '';
    server.stderr!.on('data', (d: Buffer) => (serverLog += d.toString()));
    const url = urlLine!.replace(':8080/', `:${port}/`);
    for (let i = 0; ; i++) {
      const ok = await fetch(url).then((r) => r.ok).catch(() => false);
      if (ok) break;
      if (i > 100) throw new Error(`the viewer was not served: ${serverLog}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const ctx = await env.browser.newContext({ viewport: { width: 1280, height: 1000 } });
    const page = await ctx.newPage();
    await page.goto(url);
    await page.click(`a[href="${captureId}.html"]`);
    const deadline = Date.now() + 90_000;
    let frame = page.frames().find((f) => f.url().includes('/rwp/w/') && f.url().includes('/post/1'));
    while (!frame) {
      if (Date.now() > deadline) throw new Error(`no replayed frame; frames: ${page.frames().map((f) => f.url()).join(' | ')}; server: ${serverLog.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 250));
      frame = page.frames().find((f) => f.url().includes('/rwp/w/') && f.url().includes('/post/1'));
    }
    const ar = frame.locator('#post-text-ar');
    await ar.waitFor({ timeout: 60_000 });
    expect(await ar.textContent()).toContain('دمشق');
    expect(await ar.evaluate((el) => getComputedStyle(el).direction)).toBe('rtl');
    await frame.waitForFunction(() => Array.from(document.images).some((i) => i.alt === 'Market street in the morning' && i.complete && i.naturalWidth === 800), null, { timeout: 60_000 });
    await page.screenshot({ path: path.join(path.resolve(import.meta.dirname, '../../..'), 'test-results', 'replay', 'offline-replay.png') });
    // The replayed page is served from the package folder on loopback.
    expect(new URL(frame.url()).origin).toBe(`http://127.0.0.1:${port}`);
    await ctx.close();
    server.kill('SIGTERM');
  });

  it('the viewer files are covered by the BagIt manifests and the package seal: a changed ui.js fails verification naming it', async () => {
    const manifest = await readFile(path.join(bag, 'manifest-sha256.txt'), 'utf8');
    for (const f of ['data/replay/index.html', `data/replay/${captureId}.html`, 'data/replay/rwp/ui.js', 'data/replay/rwp/sw.js', 'data/replay/rwp/LICENSE']) expect(manifest).toContain(`  ${f}\n`);
    const seal = JSON.parse(await readFile(path.join(bag, 'package-seal.json'), 'utf8')) as { files: Array<{ path: string }> };
    expect(seal.files.map((f) => f.path)).toEqual(expect.arrayContaining(['data/replay/rwp/ui.js', 'data/replay/rwp/sw.js', `data/replay/${captureId}.html`]));
    const clean = await verifyPackage(bag);
    expect(clean.failures).toEqual([]);
    await appendFile(path.join(bag, 'data/replay/rwp/ui.js'), '\n;fetch("https://attacker.example/")');
    const tampered = await verifyPackage(bag);
    expect(tampered.consistent).toBe(false);
    expect(tampered.failures.map((f) => f.item)).toContain('data/replay/rwp/ui.js');
  });
});
