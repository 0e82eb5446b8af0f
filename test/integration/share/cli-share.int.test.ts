import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSampleSite, type SampleSite } from '../../fixtures/sample-site/server.js';
import { startLocalTsa, type LocalTsa } from '../../support/tsa.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');

function exhibit(args: string[], env: Record<string, string>, timeoutMs = 150_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(ROOT, 'exhibit'), args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`exhibit ${args.join(' ')} timed out; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Two deployments of the real front door (each its own state dir, embedded Redis, keys and TSA): A captures and shares, B imports and packages. */
describe('exhibit partners, share and import between two deployments', () => {
  let site: SampleSite;
  const tsa: LocalTsa[] = [];
  const dirs: string[] = [];
  let envA: Record<string, string>;
  let envB: Record<string, string>;
  const captureIds: string[] = [];

  beforeAll(async () => {
    site = await startSampleSite();
    for (const _ of [0, 1]) {
      tsa.push(await startLocalTsa());
      dirs.push(mkdtempSync(path.join(os.tmpdir(), 'exhibit-agency-')));
    }
    envA = { EXHIBIT_STATE_DIR: dirs[0]!, EXHIBIT_TSA_URLS: tsa[0]!.url, EXHIBIT_TSA_CA_FILES: tsa[0]!.caCertPath, EXHIBIT_LOG_LEVEL: 'warn' };
    envB = { EXHIBIT_STATE_DIR: dirs[1]!, EXHIBIT_TSA_URLS: tsa[1]!.url, EXHIBIT_TSA_CA_FILES: tsa[1]!.caCertPath, EXHIBIT_LOG_LEVEL: 'warn' };
  });
  afterAll(async () => {
    for (const env of [envA, envB]) if (env) await exhibit(['down'], env);
    await site?.close();
    for (const t of tsa) await t.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('A captures two fixture pages; the agencies pin each other out of band', async () => {
    for (const p of ['/post/1', '/redirect']) {
      const r = await exhibit(['capture', `${site.url}${p}`, '--case', 'A-1', '--operator', 'analyst-a', '--allow-private-network', '--wait', '--json'], envA);
      expect(r.code, r.stderr).toBe(0);
      captureIds.push((JSON.parse(r.stdout) as { captures: Array<{ captureId: string }> }).captures[0]!.captureId);
    }
    const keyOf = async (env: Record<string, string>) => (JSON.parse((await exhibit(['keys', '--json'], env)).stdout) as Array<{ fingerprint: string; active: boolean }>).find((k) => k.active)!.fingerprint;
    const a = await keyOf(envA);
    const b = await keyOf(envB);
    expect((await exhibit(['partners', 'add', 'agency-b', '--signing-key', b], envA)).code).toBe(0);
    const added = await exhibit(['partners', 'add', 'agency-a', '--signing-key', a, '--tsa-ca', tsa[0]!.caCertPath], envB);
    expect(added.code, added.stderr).toBe(0);
    const list = await exhibit(['partners', 'list'], envB);
    expect(list.stdout).toContain(`agency-a`);
    expect(list.stdout).toContain(a);
  });

  it('A shares one capture with B, withholding its screenshot; B imports it, packages its case and verifies both chains', async () => {
    const zip = path.join(dirs[0]!, 'to-b.zip');
    const shared = await exhibit(['share', 'A-1', '--to', 'agency-b', '--capture', captureIds[0]!, '--withhold', 'screenshot', '--legal-basis', 'MLA 2026/42', '--tlp', 'amber', '--expires', '2099-06-30', '-o', zip, '--operator', 'prosecutor-a'], envA);
    expect(shared.code, shared.stderr).toBe(0);
    expect(shared.stderr).toMatch(/withheld: .* screenshot\.png \(screenshot/);
    expect(shared.stderr).toMatch(/shared 1 capture\(s\) of A-1 with agency-b \(TLP:AMBER, until 2099-06-30\)/);

    // Tampered in transit: one byte of the share record.
    const bad = path.join(dirs[0]!, 'to-b-bad.zip');
    const bytes = await readFile(zip);
    const at = bytes.indexOf(Buffer.from('MLA 2026/42'));
    expect(at).toBeGreaterThan(0);
    bytes[at] = 'N'.charCodeAt(0);
    await writeFile(bad, bytes);
    const refused = await exhibit(['import', bad, '--case', 'B-1', '--from', 'agency-a'], envB);
    expect(refused.code).toBe(8);
    expect(refused.stderr).toMatch(/refusing to-b-bad\.zip from agency-a: it does not verify/);

    const unknown = await exhibit(['import', zip, '--case', 'B-1', '--from', 'agency-x'], envB);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/no partner named "agency-x"/);

    const imported = await exhibit(['import', zip, '--case', 'B-1', '--from', 'agency-a', '--operator', 'prosecutor-b', '--json'], envB);
    expect(imported.code, imported.stderr).toBe(0);
    const res = JSON.parse(imported.stdout) as { created: boolean; verdict: string; record: { origin: { caseId: string }; share: { withheld: number } } };
    expect(res).toMatchObject({ created: true, verdict: 'verified', record: { origin: { caseId: 'A-1' } } });
    expect(res.record.share.withheld).toBeGreaterThanOrEqual(1);

    const court = path.join(dirs[1]!, 'b-court.zip');
    const pkg = await exhibit(['package', 'B-1', '-o', court, '--operator', 'prosecutor-b'], envB);
    expect(pkg.code, pkg.stderr).toBe(0);
    // B's verify pins its own key and TSA; A's key and TSA root are pinned by flag.
    const aKey = (JSON.parse((await exhibit(['keys', '--json'], envA)).stdout) as Array<{ fingerprint: string; active: boolean }>).find((k) => k.active)!.fingerprint;
    const v = await exhibit(['verify', court, '--signing-key', aKey, '--tsa-ca', tsa[0]!.caCertPath, '--json'], envB);
    expect(v.code, v.stdout).toBe(0);
    const report = JSON.parse(v.stdout) as { verdict: string; handOvers: Array<{ from: string; originCaseId: string; verdict: string; receivedEvents: number[] }> };
    expect(report.verdict).toBe('verified');
    expect(report.handOvers).toEqual([expect.objectContaining({ from: 'agency-a', originCaseId: 'A-1', verdict: 'verified' })]);
    expect(report.handOvers[0]!.receivedEvents).toHaveLength(1);
  });

  it('A exports the case as STIX 2.1 and MISP for the informal channel, only the chosen capture, never over an existing file', async () => {
    for (const format of ['stix', 'misp']) {
      const file = path.join(dirs[0]!, `intel.${format}.json`);
      const r = await exhibit(['export', 'A-1', '--format', format, '--capture', captureIds[0]!, '--tlp', 'green', '-o', file], envA);
      expect(r.code, r.stderr).toBe(0);
      const text = await readFile(file, 'utf8');
      expect(text).toContain(captureIds[0]!);
      expect(text).not.toContain(captureIds[1]!);
      expect(text).toContain(format === 'stix' ? '"tlp_2_0": "green"' : '"name": "tlp:green"');
    }
    const refused = await exhibit(['export', 'A-1', '--format', 'stix', '-o', path.join(dirs[0]!, 'intel.stix.json')], envA);
    expect(refused.code).toBe(4);
  });
});
