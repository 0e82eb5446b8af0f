import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildProgram, reportError } from '../../../app/cli.js';
import { EXIT } from '../../../app/exit-codes.js';
import { createTsaSigner, type TsaSigner } from '../../support/tsa.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const FIX = fileURLToPath(new URL('../../fixtures/tsa/', import.meta.url));

/** The CLI's own program in this process (fast): exit code and output as `main()` would give them. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let code: number = EXIT.OK;
  const stdout: string[] = [];
  const stderr: string[] = [];
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => stdout.push(String(c)) > 0);
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => stderr.push(String(c)) > 0);
  try {
    await buildProgram((c) => {
      code = c;
    }).parseAsync(['node', 'exhibit', 'timestamp', 'verify', ...args]);
  } catch (err) {
    code = reportError(err);
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
  return { code, stdout: stdout.join(''), stderr: stderr.join('') };
}

/** The real CLI in a child process; resolve with exit code and output (a non-zero exit is an answer). */
function spawnCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', path.join(ROOT, 'app/cli.ts'), 'timestamp', 'verify', ...args], { cwd: ROOT, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('exhibit timestamp verify <file> <token>', () => {
  let signer: TsaSigner;
  let dir: string;
  const f = (name: string) => path.join(dir, name);

  beforeAll(async () => {
    signer = await createTsaSigner({ intermediate: true });
    dir = await mkdtemp(path.join(os.tmpdir(), 'exhibit-tscli-'));
    const data = Buffer.from('a file from somewhere else\n');
    await writeFile(f('file.bin'), data);
    await writeFile(f('other.bin'), 'not the file\n');
    await writeFile(f('t384.tsr'), await signer.stamp(data, { imprint: 'sha384', signerDigest: 'sha384', includeChain: true }));
    await writeFile(f('nocerts.tsr'), await signer.stamp(data, { imprint: 'sha512', certReq: false, essCertIdAlg: 'sha1' }));
    const der = (pem: string) => Buffer.from(pem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
    await writeFile(f('ca.der'), der(signer.caCertPem));
    await writeFile(f('tsa.der'), der(await readFile(signer.tsaCertPath, 'utf8')));
    await writeFile(f('not-a-cert.pem'), 'hello\n');
  }, 60_000);
  afterAll(async () => {
    await signer?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a SHA-384 token with a pinned anchor: exit 0 with genTime, TSA, policy, serial, imprint, signer, chain and the pinned anchor', async () => {
    const r = await cli([f('file.bin'), f('t384.tsr'), '--tsa-ca', signer.caCertPath]);
    expect(r.code, r.stderr).toBe(0);
    for (const line of [/genTime {5}\d{4}-\d\d-\d\dT/, /TSA name {4}O=Exhibit Test, CN=Exhibit Test TSA/, /policy {6}1\.3\.6\.1\.4\.1\.99999\.3161\.1/, /serial {6}[0-9a-f]+/,
      /imprint {5}sha384:[0-9a-f]{96} — matches the file/, /signer {6}O=Exhibit Test, CN=Exhibit Test TSA \(found by its ESSCertIDv2/,
      /2\. O=Exhibit Test, CN=Exhibit Test TSA CA Intermediate \[CA; from the token\]/, /3\. O=Exhibit Test, CN=Exhibit Test TSA CA \[pinned anchor; from your --tsa-ca\]/,
      /anchor {6}pinned/, /^VERIFIED: /m]) {
      expect(r.stdout).toMatch(line);
    }
  });

  it('no anchor: exit 10 UNAUTHENTICATED, and never the word VERIFIED', async () => {
    const r = await cli([f('file.bin'), f('t384.tsr'), '--json']);
    expect(r.code).toBe(10);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ result: 'unauthenticated', anchorPinned: false, facts: { anchored: false, imprintAlgorithm: 'sha384' } });
    const text = await cli([f('file.bin'), f('t384.tsr')]);
    expect(text.code).toBe(10);
    expect(text.stdout).toMatch(/^NOT AUTHENTICATED: /m);
    expect(text.stdout).not.toMatch(/^VERIFIED/m);
  });

  it('another file: exit 8 INTEGRITY naming the imprint mismatch', async () => {
    const r = await cli([f('other.bin'), f('t384.tsr'), '--tsa-ca', signer.caCertPath, '--json']);
    expect(r.code).toBe(8);
    expect(JSON.parse(r.stdout)).toMatchObject({ result: 'failed', failure: { code: 'TIMESTAMP_INVALID', message: expect.stringMatching(/message imprint mismatch: token covers sha384:/) } });
  });

  it('a token without certificates, anchor and TSA certificate given in DER: exit 0; without the TSA certificate: exit 8', async () => {
    const ok = await cli([f('file.bin'), f('nocerts.tsr'), '--tsa-ca', f('ca.der'), '--untrusted', f('tsa.der'), signer.intermediateCertPath!, '--json']);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ result: 'verified', facts: { imprintAlgorithm: 'sha512', signerIdentifiedBy: { attribute: 'ESSCertID', hashAlgorithm: 'sha1' } } });
    const missing = await cli([f('file.bin'), f('nocerts.tsr'), '--tsa-ca', f('ca.der')]);
    expect(missing.code).toBe(8);
    expect(missing.stdout).toMatch(/NOT VERIFIED: the token carries no certificates/);
  });

  it('the recorded expired-since token, through the real executable: exit 0 and the TSA certificate is shown as expired since genTime', async () => {
    const r = await spawnCli([path.join(FIX, 'expired/data.txt'), path.join(FIX, 'expired/token.tsr'), '--tsa-ca', path.join(FIX, 'expired/ca.pem')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/1\. O=Exhibit Test, CN=Exhibit Test TSA \[signer; from the token\] .* EXPIRED since genTime/);
  });

  it('a refused request (TimeStampResp without a token) is exit 8; a --tsa-ca file with no certificate is exit 4; a missing token is exit 6', async () => {
    expect((await cli([f('file.bin'), path.join(FIX, 'rejected.tsr'), '--tsa-ca', signer.caCertPath])).code).toBe(8);
    const bad = await cli([f('file.bin'), f('t384.tsr'), '--tsa-ca', f('not-a-cert.pem')]);
    expect(bad.code).toBe(4);
    expect(bad.stderr).toMatch(/not-a-cert\.pem holds no PEM or DER certificate/);
    expect((await cli([f('file.bin'), f('nope.tsr')])).code).toBe(6);
  });
});
