import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixture, type FixtureSite } from '../fixtures/fixture-server.js';
import { RAW_BODY_HEADER, RecordingProxy } from '../../collectors/browser/recording-proxy.js';
import { CHROMIUM_ARGS } from '../../collectors/browser/pool.js';
import { createLogger } from '../../lib/logger.js';
import { ALLOWED_ORIGIN_CIDR, hostileEnv, type HostileEnv } from '../support/hostile-capture.js';

/**
 * Attack (issue 11, item 4): a small gzip response that expands enormously. Before the fix the
 * collector decoded it without a limit and the seal stage stored the decoded file (2 MB of gzip
 * became a 2 GiB media file on the write-once store), past maxResourceBytes and maxPageBytes. Now
 * decoding stops at the limit and the body is kept as served, flagged, never as a huge decoded file.
 */

const MiB = 1 << 20;
/** 64 MiB of zeros as ~64 KiB of gzip. */
const BOMB = gzipSync(Buffer.alloc(64 * MiB));
/** 3 MiB each: under the per-resource limit, but three of them pass the page limit. */
const SMALL_BOMB = gzipSync(Buffer.alloc(3 * MiB));

let env: HostileEnv;
let site: FixtureSite;

beforeAll(async () => {
  env = hostileEnv();
  site = await startFixture((_req, res, url) => {
    const gz = (body: Buffer) => void res.writeHead(200, { 'Content-Type': 'image/png', 'Content-Encoding': 'gzip', 'Content-Length': body.length, 'Cache-Control': 'no-store' }).end(body);
    if (url.pathname === '/bomb.png') return gz(BOMB);
    if (/^\/small-\d\.png$/.test(url.pathname)) return gz(SMALL_BOMB);
    const html =
      url.pathname === '/one'
        ? '<!doctype html><title>bomb</title><h1>bomb</h1><img src="/bomb.png">'
        : '<!doctype html><title>bombs</title><h1>bombs</h1><img src="/small-1.png"><img src="/small-2.png"><img src="/small-3.png">';
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(html) }).end(html);
  });
});

afterAll(async () => {
  await env?.close();
  await site?.close();
});

/** Every file the capture left in its spool, with its size (the work directory is gone by then). */
function spoolSizes(dir: string): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else out.set(path.relative(dir, p), st.size);
    }
  };
  walk(dir);
  return out;
}

describe('decompression bombs are never expanded into evidence', () => {
  it('keeps a gzip bomb as served (flagged decode-limit), not as 64 MiB of decoded media', async () => {
    const run = await env.capture(`${site.url}/one`, { maxResourceBytes: 4 * MiB, maxPageBytes: 32 * MiB });
    expect(run.out.status).toBe('captured');
    const media = run.out.files.filter((f) => f.role === 'media');
    expect(media).toHaveLength(1);
    const bomb = media[0]!;
    expect(bomb.sourceUrl).toBe(`${site.url}/bomb.png`);
    expect(bomb.mediaType).toBe('application/gzip');
    expect(bomb.path).toMatch(/\.gz$/);
    expect(bomb.flags).toContainEqual({ code: 'decode-limit', message: expect.stringContaining(`decodes to more than ${4 * MiB} bytes`) });
    // Byte-identical to what the server sent, and it is the bomb itself (it still inflates).
    expect(Buffer.compare(run.read(bomb.path), BOMB)).toBe(0);
    expect(gunzipSync(run.read(bomb.path)).length).toBe(64 * MiB);
    // Nothing in the spool is anywhere near the decoded size.
    for (const [name, size] of spoolSizes(run.dir)) expect(size, name).toBeLessThan(4 * MiB);
  });

  it('bounds decoding for the whole page too: bombs under the per-resource limit stop at maxPageBytes', async () => {
    const run = await env.capture(`${site.url}/many`, { maxResourceBytes: 4 * MiB, maxPageBytes: 8 * MiB });
    expect(run.out.status).toBe('captured');
    const media = run.out.files.filter((f) => f.role === 'media');
    expect(media).toHaveLength(3);
    const decoded = media.filter((f) => f.mediaType === 'image/png');
    const kept = media.filter((f) => f.flags.some((x) => x.code === 'decode-limit'));
    // Two decode (6 MiB of the 8 MiB budget); the third would pass it and is kept as served.
    expect(decoded).toHaveLength(2);
    expect(kept).toHaveLength(1);
    expect(kept[0]!.flags.find((x) => x.code === 'decode-limit')!.message).toContain(`page limit of ${8 * MiB}`);
    expect(Buffer.compare(run.read(kept[0]!.path), SMALL_BOMB)).toBe(0);
    const total = [...spoolSizes(run.dir).values()].reduce((a, b) => a + b, 0);
    expect(total).toBeLessThan(8 * MiB);
  });

  it("a collector's own request (Playwright's client, which inflates in memory without a limit) gets the body still encoded; the recording is unchanged and decodes bounded", async () => {
    const workDir = mkdtempSync(path.join(os.tmpdir(), 'exhibit-raw-body-'));
    const proxy = await RecordingProxy.start({ policy: { allowPrivateNetwork: false, allowCidrs: [ALLOWED_ORIGIN_CIDR] }, workDir, maxResourceBytes: 4 * MiB, maxTotalBytes: 32 * MiB, upstreamProxy: null, logger: createLogger('silent') });
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: [...CHROMIUM_ARGS] });
    try {
      const context = await browser.newContext({ proxy: { server: proxy.url, bypass: '<-loopback>' } });
      const res = await context.request.get(`${site.url}/bomb.png`, { headers: { [RAW_BODY_HEADER]: '1' } });
      expect(res.status()).toBe(200);
      expect(res.headers()['content-encoding']).toBeUndefined();
      expect(Buffer.compare(await res.body(), BOMB)).toBe(0);
      await context.close();
      await proxy.close();
      const ex = proxy.exchanges().find((e) => e.url.endsWith('/bomb.png'))!;
      // Recorded exactly as the server sent it, without the marker.
      expect(ex.responseHeaders).toContainEqual(['Content-Encoding', 'gzip']);
      expect(ex.requestHeaders.some(([k]) => k.toLowerCase() === RAW_BODY_HEADER.toLowerCase())).toBe(false);
      await expect(proxy.decodedBodyPath(ex)).rejects.toMatchObject({ code: 'TOO_LARGE' });
    } finally {
      await browser.close();
      await proxy.close();
      rmSync(workDir, { recursive: true, force: true });
    }
  });
});
