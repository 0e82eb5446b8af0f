/**
 * The case graph in the web app, in Debian Chromium against the running server (Redis, MinIO, the
 * OpenSSL TSA): the graph API answers from the sealed post.json and records the read; the view
 * draws the graph, explains each measure, filters by edge type and time, finds an account by
 * handle, and a click on a node or an edge shows the captures behind it, Arabic right-to-left.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../../../app/api/server.js';
import { verifyPackage } from '../../../evidence/package/verify.js';
import { MEASURE_EXPLANATIONS } from '../../../analysis/graph-measures.js';
import type { CaseGraphView } from '../../../schemas/graph.js';
import { makeSealedCapture } from '../../support/sealed-capture.js';
import { captureArtifacts, networkScenario } from '../../support/synthetic-posts.js';
import { startHarness, type Harness } from '../api/harness.js';
import { launchUiBrowser, signIn } from '../../support/web-ui.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const SHOTS = path.join(ROOT, 'test-results', 'graph');
const CASE = 'C-GRAPH-UI';

describe('case graph view in Chromium (real server, Redis, MinIO, TSA)', () => {
  let h: Harness;
  let browser: Browser;
  let server: { url: string; close(): Promise<void> };
  let tmp: string;
  const scenario = networkScenario();
  const captureIds: string[] = [];

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    tmp = mkdtempSync(path.join(os.tmpdir(), 'exhibit-graph-ui-'));
    h = await startHarness([
      { name: 'analyst-graph', role: 'analyst', cases: [CASE] },
      { name: 'outsider', role: 'analyst', cases: ['C-OTHER'] },
      { name: 'prosecutor-graph', role: 'prosecutor', cases: [CASE] },
    ]);
    // The deployment's own key store, so its packages carry the key that signed these captures.
    const attest = { keys: h.s.keys, tsas: [{ url: h.tsa.url }], timestamp: { trustAnchors: [h.tsa.caCertPem], attempts: 2, backoffMs: 50, timeoutMs: 10_000 } };
    for (const c of scenario.captures) captureIds.push((await makeSealedCapture({ caseId: CASE, store: h.s.store, clock: h.s.clock, custody: h.s.custody, attest, extra: captureArtifacts(c) })).captureId);
    server = await listen(h.api, '127.0.0.1', 0);
    browser = await launchUiBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await h?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  const api = (name: string, p: string) => fetch(`${server.url}${p}`, { headers: { Authorization: `Bearer ${h.tokens[name]}` } });

  it('GET /api/cases/:caseId/graph: the graph with its measures, recorded as a read of every capture behind it', async () => {
    const res = await api('analyst-graph', `/api/cases/${CASE}/graph`);
    expect(res.status).toBe(200);
    const view = (await res.json()) as CaseGraphView;
    expect(view.graph.nodes.map((n) => n.id).sort()).toEqual(scenario.nodes);
    expect(view.graph.captures.map((c) => c.captureId).sort()).toEqual([...captureIds].sort());
    expect(view.explanations).toEqual(MEASURE_EXPLANATIONS);
    expect(view.measures.mostForwarded.map((f) => f.id)).toEqual(['account:telegram:news_ar']);
    const events = (await h.s.custody.readLog(CASE)).map((e) => e.event);
    const read = events.find((e) => e.seq === view.custodySeq)!;
    expect(read).toMatchObject({ action: 'viewed', actor: { id: 'analyst-graph' }, details: { view: 'case-graph', via: 'api' } });
    expect([...(read.details as { captureIds: string[] }).captureIds].sort()).toEqual([...captureIds].sort());

    // Filters go through the same code as the CLI: only reposts; a time window; one account's neighbourhood.
    const reposts = (await (await api('analyst-graph', `/api/cases/${CASE}/graph?edgeTypes=reposts`)).json()) as CaseGraphView;
    expect(reposts.graph.edges.map((e) => e.type)).toEqual(['reposts', 'reposts']);
    const feb12 = (await (await api('analyst-graph', `/api/cases/${CASE}/graph?since=2026-02-12T00:00:00Z&until=2026-02-12T23:59:59Z`)).json()) as CaseGraphView;
    expect(feb12.graph.edges.some((e) => e.source.startsWith('account:telegram'))).toBe(false);
    expect(feb12.graph.edges.some((e) => e.type === 'replies-to')).toBe(true);

    // Failure paths: unknown edge type, an account not in the case, a case the user is not in.
    expect((await api('analyst-graph', `/api/cases/${CASE}/graph?edgeTypes=likes`)).status).toBe(400);
    expect((await api('analyst-graph', `/api/cases/${CASE}/graph?account=nobody_here`)).status).toBe(404);
    expect((await api('outsider', `/api/cases/${CASE}/graph`)).status).toBe(404);
    const after = (await h.s.custody.readLog(CASE)).map((e) => e.event);
    expect(after.some((e) => e.actor.id === 'outsider')).toBe(false);
  });

  async function signedIn(name = 'analyst-graph'): Promise<Page> {
    const ctx = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    await ctx.addInitScript(() => {
      const w = window as unknown as { __csp: string[] };
      w.__csp = [];
      document.addEventListener('securitypolicyviolation', (e) => w.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
    });
    const page = await ctx.newPage();
    await signIn(page, server.url, name, h.tokens[name]!);
    return page;
  }

  /** Click where cytoscape drew a node (its centre) or an edge (its midpoint): a real mouse click on the canvas. */
  async function clickElement(page: Page, id: string): Promise<void> {
    const box = (await page.locator('#graph-canvas').boundingBox())!;
    const pos = await page.evaluate((elId) => {
      const cy = (document.getElementById('graph-canvas') as unknown as { cy: { getElementById(i: string): { isNode(): boolean; renderedPosition(): { x: number; y: number }; renderedMidpoint(): { x: number; y: number } } } }).cy;
      const el = cy.getElementById(elId);
      return el.isNode() ? el.renderedPosition() : el.renderedMidpoint();
    }, id);
    await page.mouse.click(box.x + pos.x, box.y + pos.y);
    await page.waitForSelector(`#graph-details[data-ready="${id.replace(/["\\]/g, '\\$&')}"]`, { timeout: 30_000 });
  }

  it('walks the graph view: draws it, explains the measures, a node and an edge show their captures, Arabic right-to-left, filters and search', async () => {
    const page = await signedIn();
    await page.goto(`${server.url}/ui/#/cases/${CASE}`);
    await page.waitForSelector(`main#view[data-ready="/cases/${CASE}"]`);
    await page.click('#graph-link');
    await page.waitForSelector(`#graph-canvas[data-nodes="${scenario.nodes.length}"]`, { timeout: 30_000 });
    expect(Number(await page.getAttribute('#graph-canvas', 'data-edges'))).toBe(scenario.edges.length);
    // cytoscape came from our own origin, under the strict CSP.
    expect(await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp)).toEqual([]);

    // Each measure, with its one-sentence explanation.
    for (const [key, sentence] of Object.entries(MEASURE_EXPLANATIONS)) expect(await page.textContent(`[data-measure="${key}"] .measure-explanation`)).toBe(sentence);
    expect(await page.textContent('[data-measure="mostForwarded"] ol')).toContain('@news_ar — 1 reposts by 1 accounts');

    // Canvas labels: a right-to-left line is laid out in a right-to-left isolate.
    const labels = await page.evaluate(() => {
      const cy = (document.getElementById('graph-canvas') as unknown as { cy: { getElementById(i: string): { data(k: string): string } } }).cy;
      return { tag: cy.getElementById('hashtag:اخبار').data('label'), channel: cy.getElementById('account:telegram:news_ar').data('label') };
    });
    expect(labels.tag).toBe('\u2067#اخبار\u2069');
    expect(labels.channel).toBe('@news_ar\n\u2067أخبار العاجلة\u2069');
    await page.screenshot({ path: path.join(SHOTS, '01-graph-view.png'), fullPage: true });

    // A node: the news channel, read from the capture of its post and from the capture that forwards it.
    await clickElement(page, 'account:telegram:news_ar');
    const newsCaptures = await page.$$eval('#graph-captures li', (lis) => lis.map((li) => (li as HTMLElement).dataset.captureId));
    expect(newsCaptures.sort()).toEqual([captureIds[0], captureIds[1]].sort());
    const text = page.locator('#graph-captures .post-text', { hasText: 'بيان <عاجل>' });
    expect(await text.evaluate((el) => getComputedStyle(el).direction)).toBe('rtl');
    const name = page.locator('#graph-details dd bdi', { hasText: 'أخبار العاجلة' }).first();
    expect(await name.evaluate((el) => getComputedStyle(el).direction)).toBe('rtl');
    await page.screenshot({ path: path.join(SHOTS, '02-graph-node.png'), fullPage: true });
    if (process.env.EXHIBIT_DOCS_SHOTS) copyFileSync(path.join(SHOTS, '02-graph-node.png'), path.join(ROOT, 'docs', 'graph.png'));
    // Looking at a capture's post from the graph is a read on the custody log.
    const log = (await h.s.custody.readLog(CASE)).map((e) => e.event);
    expect(log.filter((e) => e.actor.id === 'analyst-graph' && (e.details as { view?: string }).view === 'post').map((e) => e.subject.captureId).sort()).toEqual(expect.arrayContaining([captureIds[0], captureIds[1]]));

    // An edge: the forward, supported by the forwarding capture only.
    await clickElement(page, 'reposts:account:telegram:relay_ch->account:telegram:news_ar');
    expect(await page.$$eval('#graph-captures li', (lis) => lis.map((li) => (li as HTMLElement).dataset.captureId))).toEqual([captureIds[1]]);
    expect(await page.textContent('#graph-details')).toContain('1 distinct observation');
    await page.screenshot({ path: path.join(SHOTS, '03-graph-edge.png'), fullPage: true });

    // Filter by edge type: only forwards.
    for (const box of await page.$$('#graph-edge-types input')) if ((await box.getAttribute('value')) !== 'reposts') await box.uncheck();
    await page.click('#graph-filters button[type=submit]');
    await page.waitForSelector('#graph-canvas[data-edges="2"]');
    // Filter by time: 12 February 2026 is the Mastodon thread only.
    await page.click('#graph-reset');
    await page.waitForSelector(`#graph-canvas[data-edges="${scenario.edges.length}"]`);
    await page.fill('#graph-since', '2026-02-12');
    await page.fill('#graph-until', '2026-02-12');
    await page.click('#graph-filters button[type=submit]');
    await page.waitForFunction(() => Number(document.getElementById('graph-canvas')!.dataset.edges) < 19);
    expect(await page.evaluate(() => (document.getElementById('graph-canvas') as unknown as { cy: { nodes(): { map(f: (n: { id(): string }) => string): string[] } } }).cy.nodes().map((n) => n.id()).filter((id) => id.startsWith('account:')))).toEqual(['account:mastodon:111', 'account:mastodon:222']);

    // Search by handle: the account and everything one edge away, the account marked.
    await page.click('#graph-reset');
    await page.waitForSelector(`#graph-canvas[data-edges="${scenario.edges.length}"]`);
    await page.fill('#graph-search', '@RELAY_CH');
    await page.click('#graph-filters button[type=submit]');
    await page.waitForFunction(() => Number(document.getElementById('graph-canvas')!.dataset.nodes) < 13);
    const found = await page.evaluate(() => (document.getElementById('graph-canvas') as unknown as { cy: { $(s: string): { map(f: (n: { id(): string }) => string): string[] } } }).cy.$('.match').map((n) => n.id()));
    expect(found).toEqual(['account:telegram:relay_ch']);
    expect(await page.textContent('#graph-summary')).toContain('neighbourhood of @RELAY_CH');

    // From the graph to the capture view.
    await clickElement(page, 'account:telegram:relay_ch');
    await page.click(`#graph-captures a[href="#/cases/${CASE}/captures/${captureIds[1]}"]`);
    await page.waitForSelector(`main#view[data-ready="/cases/${CASE}/captures/${captureIds[1]}"]`);
    expect(await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp)).toEqual([]);
    await page.context().close();
  });

  it('prosecutor: packages the case with its graph from the web app; the downloaded package verifies, graph checks included', async () => {
    const page = await signedIn('prosecutor-graph');
    await page.goto(`${server.url}/ui/#/cases/${CASE}`);
    await page.waitForSelector(`main#view[data-ready="/cases/${CASE}"]`);
    await page.check('#package-graph');
    await page.click('#package-case');
    await page.waitForSelector('#package-ready', { timeout: 170_000 });
    const download = page.waitForEvent('download');
    await page.click('#package-download');
    const file = path.join(tmp, (await download).suggestedFilename());
    await (await download).saveAs(file);
    const report = await verifyPackage(file);
    expect(report.failures).toEqual([]);
    expect(report.consistent).toBe(true);
    expect(report.checks.filter((c) => c.check === 'analysis-graph-captures' && c.ok).map((c) => c.item)).toEqual(['data/analysis/case-graph.json', 'data/analysis/case-graph.graphml']);
    await page.context().close();
  });
});
