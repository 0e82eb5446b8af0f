import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as asn1js from 'asn1js';
import { certSerial, MitmCa } from '../../../collectors/browser/mitm-ca.js';

describe('MitmCa', () => {
  it('makes serials that are positive and minimally encoded whatever the random bytes (a leading zero byte is illegal DER)', () => {
    for (const first of [0x00, 0x01, 0x7f, 0x80, 0xff]) {
      const random = Buffer.alloc(16, first === 0x00 ? 0x00 : 0x11);
      random[0] = first;
      const serial = certSerial(random);
      expect(serial).toHaveLength(16);
      // DER INTEGER of a positive number: no leading 0x00 unless the next byte has its top bit set, and no top bit on the first.
      const der = Buffer.from(new asn1js.Integer({ valueHex: new Uint8Array(serial) }).toBER(false));
      expect(der.subarray(0, 2)).toEqual(Buffer.from([0x02, 16]));
      expect(der[2]).toBeGreaterThanOrEqual(0x40);
      expect(der[2]).toBeLessThan(0x80);
    }
  });

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
