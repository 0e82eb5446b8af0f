import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MitmCa } from '../../../collectors/browser/mitm-ca.js';

describe('MitmCa', () => {
  it('issues leaves for names and IP literals that chain to its CA (checked by openssl)', async () => {
    const ca = await MitmCa.create();
    const caCert = new X509Certificate(ca.certPem);
    expect(caCert.ca).toBe(true);
    const dir = await mkdtemp(path.join(tmpdir(), 'exhibit-ca-'));
    try {
      await writeFile(path.join(dir, 'ca.pem'), ca.certPem);
      for (const host of ['news.example', '127.0.0.1', '::1']) {
        const pem = await ca.issueLeaf(host);
        const leaf = new X509Certificate(pem);
        expect(leaf.ca).toBe(false);
        expect(leaf.verify(caCert.publicKey)).toBe(true);
        expect(leaf.checkIssued(caCert)).toBe(true);
        if (host.includes('.') && !/^\d/.test(host)) expect(leaf.checkHost(host)).toBe(host);
        else expect(leaf.checkIP(host)).toBe(host);
        expect(leaf.checkHost('other.example')).toBeUndefined();
        await writeFile(path.join(dir, 'leaf.pem'), pem);
        const out = execFileSync('openssl', ['verify', '-purpose', 'sslserver', '-CAfile', path.join(dir, 'ca.pem'), path.join(dir, 'leaf.pem')]).toString();
        expect(out.trim()).toMatch(/: OK$/);
      }
      // a leaf from another CA does not chain
      const other = await MitmCa.create();
      await writeFile(path.join(dir, 'leaf.pem'), await other.issueLeaf('news.example'));
      expect(() => execFileSync('openssl', ['verify', '-CAfile', path.join(dir, 'ca.pem'), path.join(dir, 'leaf.pem')], { stdio: 'pipe' })).toThrow();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('caches one TLS context per host', async () => {
    const ca = await MitmCa.create();
    const a = await ca.secureContext('a.example');
    expect(await ca.secureContext('a.example')).toBe(a);
    expect(await ca.secureContext('b.example')).not.toBe(a);
  });
});
