/**
 * Sharing in the web app, in Debian Chromium against the running server (Redis, MinIO, the OpenSSL
 * TSA): a prosecutor selects a capture, withholds the screenshot, shares it with a partner, downloads
 * the package and sees the share listed; a prosecutor of another case imports that zip from the
 * partner (this deployment pinned as the partner) and a tampered one is refused naming the item.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../../../app/api/server.js';
import { PartnerStore } from '../../../evidence/partners.js';
import { makeSealedCapture } from '../../support/sealed-capture.js';
import { startHarness, type Harness } from '../api/harness.js';
import { launchUiBrowser, signIn } from '../../support/web-ui.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../../..');
const SHOTS = path.join(ROOT, 'test-results', 'share');
const CASE = 'C-SHARE-UI';
const CASE_B = 'C-SHARE-UI-IN';
const PARTNER = 'agency-self';

describe('sharing and importing in the web app (Chromium, real server)', () => {
  let h: Harness;
  let browser: Browser;
  let server: { url: string; close(): Promise<void> };
  let tmp: string;
  let captureIds: string[];
  let zip: string;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    tmp = mkdtempSync(path.join(os.tmpdir(), 'exhibit-share-ui-'));
    h = await startHarness([
      { name: 'prosecutor-a', role: 'prosecutor', cases: [CASE] },
      { name: 'prosecutor-b', role: 'prosecutor', cases: [CASE_B] },
      { name: 'analyst-a', role: 'analyst', cases: [CASE] },
    ]);
    const attest = { keys: h.s.keys, tsas: [{ url: h.tsa.url }], timestamp: { trustAnchors: [h.tsa.caCertPem], attempts: 2, backoffMs: 50, timeoutMs: 10_000 } };
    captureIds = [];
    for (const url of ['https://fixture.example/post/1', 'https://fixture.example/post/2']) captureIds.push((await makeSealedCapture({ caseId: CASE, store: h.s.store, clock: h.s.clock, custody: h.s.custody, attest, url })).captureId);
    await new PartnerStore(h.config.trust.partnersFile).add(PARTNER, { signingKeys: [(await h.s.keys.activeKey()).fingerprint], tsaCaFiles: [h.tsa.caCertPath] });
    server = await listen(h.api, '127.0.0.1', 0);
    browser = await launchUiBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await h?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  async function signedIn(name: string): Promise<{ page: Page; errors: string[]; close(): Promise<void> }> {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    const page = await ctx.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await signIn(page, server.url, name, h.tokens[name]!);
    return { page, errors, close: () => ctx.close() };
  }
  const openCase = async (page: Page, caseId: string) => {
    await page.goto(`${server.url}/ui/#/cases/${caseId}`);
    await page.waitForSelector(`main#view[data-ready="/cases/${caseId}"]`, { timeout: 30_000 });
  };

  it('an analyst sees neither the share nor the import form', async () => {
    const s = await signedIn('analyst-a');
    await openCase(s.page, CASE);
    expect(await s.page.locator('#share-builder, #import-package').count()).toBe(0);
    expect(s.errors).toEqual([]);
    await s.close();
  });

  it('a prosecutor shares a selected capture with the screenshot withheld, downloads it and sees the share listed', async () => {
    const s = await signedIn('prosecutor-a');
    await openCase(s.page, CASE);
    await s.page.waitForSelector('#share-partner option[value="agency-self"]', { state: 'attached' });
    expect(await s.page.textContent('#shares')).toContain('Nothing of this case has been shared');
    await s.page.locator('input.pick').first().check();
    await s.page.fill('#share-legal-basis', 'MLA request 2026/42');
    await s.page.selectOption('#share-tlp', 'amber+strict');
    await s.page.check('input.withhold[value="screenshot"]');
    await s.page.click('#share-submit');
    await s.page.waitForSelector('#share-ready, #share-failed, #share-progress .error', { timeout: 170_000 });
    expect(await s.page.locator('#share-ready').count(), await s.page.textContent('#share-progress') ?? '').toBe(1);
    await s.page.waitForSelector('#shares-list tbody tr');
    const row = await s.page.textContent('#shares-list tbody tr');
    expect(row).toContain(PARTNER);
    expect(row).toContain('TLP:AMBER+STRICT');
    expect(row).toContain('screenshot.png');
    await s.page.screenshot({ path: path.join(SHOTS, '01-share.png'), fullPage: true });
    await s.page.locator('#share-builder').screenshot({ path: path.join(SHOTS, 'prosecutor-share.png') });
    const download = s.page.waitForEvent('download');
    await s.page.click('#share-download');
    zip = path.join(tmp, (await download).suggestedFilename());
    await (await download).saveAs(zip);
    expect(path.basename(zip)).toContain(`-to-${PARTNER}-`);
    const { stdout } = await run('unzip', ['-Z1', zip]);
    expect(stdout).not.toContain('screenshot.png');
    expect(s.errors).toEqual([]);
    await s.close();
  });

  it('a prosecutor of another case imports it from the partner; a tampered copy is refused naming the item', async () => {
    const dir = mkdtempSync(path.join(tmp, 'tamper-'));
    await run('unzip', ['-q', zip, '-d', dir]);
    const bag = (await run('unzip', ['-Z1', zip])).stdout.split('\n')[0]!.split('/')[0]!;
    const shared = (await h.s.custody.readLog(CASE)).map((e) => e.event).find((e) => e.action === 'shared')!;
    const id = (shared.details as { captureIds: string[] }).captureIds[0]!;
    const p = path.join(dir, bag, 'data/captures', id, 'artifacts/dom.html');
    const b = await readFile(p);
    b[b.length - 3] = b[b.length - 3]! ^ 1;
    await writeFile(p, b);
    const bad = path.join(tmp, 'tampered.zip');
    await run('zip', ['-qr', '-X', bad, bag], { cwd: dir }); // spawns: zip

    const s = await signedIn('prosecutor-b');
    await openCase(s.page, CASE_B);
    await s.page.waitForSelector('#import-partner option[value="agency-self"]', { state: 'attached' });
    await s.page.setInputFiles('#import-file', bad);
    await s.page.click('#import-submit');
    await s.page.waitForSelector('#import-result .error', { timeout: 120_000 });
    const refused = await s.page.textContent('#import-result .error');
    expect(refused).toContain('PACKAGE_INVALID');
    expect(refused).toContain(`data/captures/${id}/artifacts/dom.html`);

    await s.page.setInputFiles('#import-file', zip);
    await s.page.click('#import-submit');
    await s.page.waitForSelector('#import-ok', { timeout: 120_000 });
    expect(await s.page.textContent('#import-ok')).toMatch(/Received from agency-self: 1 capture\(s\) of .* case C-SHARE-UI, verified/);
    expect(await s.page.textContent('#import-result')).toContain('MLA request 2026/42');
    await s.page.screenshot({ path: path.join(SHOTS, '02-import.png'), fullPage: true });
    await s.page.locator('#import-package').screenshot({ path: path.join(SHOTS, 'prosecutor-import.png') });
    expect((await h.s.custody.readLog(CASE_B)).map((e) => e.event.action).filter((a) => a === 'received')).toHaveLength(1);
    expect(s.errors).toEqual([]);
    await s.close();
  });
});
