import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendText, startFixture, type FixtureSite } from '../fixtures/fixture-server.js';
import { BLOCKED_HOST, hostileEnv, tcpTrap, type HostileEnv } from '../support/hostile-capture.js';

/**
 * Attack (issue 11, item 6): a page served from an allowed origin sends the browser on to a blocked
 * address by script, meta refresh, form post or window.open(_self). Before the fix the capture was
 * sealed as "captured", its finalUrl the blocked URL and its DOM and screenshot the recording
 * proxy's own "BLOCKED_ADDRESS" message. Now it is a failed capture, NAVIGATION_BLOCKED, naming the
 * blocked URL; the proxy's refusal is never kept as the page, and nothing reached the blocked host.
 */

let env: HostileEnv;
let site: FixtureSite;
let trap: Awaited<ReturnType<typeof tcpTrap>>;
let blocked: string;

const page = (body: string, head = '') => `<!doctype html><html><head><title>origin page</title>${head}</head><body><h1>origin page</h1>${body}</body></html>`;

beforeAll(async () => {
  env = hostileEnv();
  trap = await tcpTrap();
  blocked = `http://${BLOCKED_HOST}:${trap.port}/secret`;
  site = await startFixture((_req, res, url) => {
    const html: Record<string, string> = {
      '/script': page(`<script>location.href = ${JSON.stringify(blocked)};</script>`),
      '/late-script': page(`<script>addEventListener('load', () => setTimeout(() => { location.href = ${JSON.stringify(blocked)}; }, 300));</script>`),
      '/meta': page('', `<meta http-equiv="refresh" content="0; url=${blocked}">`),
      '/form': page(`<form id="f" method="post" action="${blocked}"><input name="q" value="1"></form><script>document.getElementById('f').submit();</script>`),
      '/open-self': page(`<script>window.open(${JSON.stringify(blocked)}, '_self');</script>`),
      '/redirect': '',
      '/fine': page('<p>stays here</p>'),
      '/iframe': page(`<p>the page itself</p><iframe id="sub" src="${blocked}" width="600" height="200"></iframe>`),
      '/popup': page(`<p>the page itself</p><script>window.open(${JSON.stringify(blocked)}, 'other', 'popup');</script>`),
    };
    if (url.pathname === '/redirect') return void res.writeHead(302, { Location: blocked, 'Content-Length': '0' }).end();
    const body = html[url.pathname];
    if (body === undefined) return sendText(res, 404, 'text/plain', 'not found\n');
    sendText(res, 200, 'text/html; charset=utf-8', body);
  });
});

afterAll(async () => {
  await env?.close();
  await site?.close();
  await trap?.close();
});

describe('a navigation that ends on a blocked address is a blocked capture', () => {
  it.each(['/script', '/late-script', '/meta', '/form', '/open-self', '/redirect'])('%s', async (route) => {
    const run = await env.capture(`${site.url}${route}`);
    expect(run.out.status).toBe('failed');
    expect(run.out.failure).toMatchObject({ code: 'NAVIGATION_BLOCKED', kind: 'permanent' });
    expect(run.out.failure!.message).toContain(blocked);
    // The refusal is never sealed as the page: no DOM, screenshot or MHTML of it.
    expect(run.files()).not.toContain('dom.html');
    expect(run.files()).not.toContain('screenshot.png');
    expect(run.files()).not.toContain('page.mhtml');
    const facts = run.json<{ finalUrl: string | null; blockedRequests: Array<{ url: string; reason: string }> }>('page-facts.json');
    expect(facts.finalUrl).not.toBe(blocked);
    expect(facts.blockedRequests.some((b) => b.url === blocked && b.reason.startsWith('BLOCKED_ADDRESS'))).toBe(true);
    // What was observed is still recorded: the WARC is kept.
    expect(run.files()).toContain('traffic.warc.gz');
    expect(trap.connections()).toBe(0);
  });

  it('still captures a page that stays where it is (the origin is allowed)', async () => {
    const run = await env.capture(`${site.url}/fine`);
    expect(run.out.failure).toBeNull();
    expect(run.out.status).toBe('captured');
    expect(run.read('dom.html').toString('utf8')).toContain('stays here');
  });
});

/**
 * Attack (follow-up to issue 11, item 6): the page stays where it is but sends an iframe or a popup
 * to a blocked address. The page is captured; before the fix the iframe showed the proxy's own
 * refusal text ("Exhibit recording proxy: BLOCKED_ADDRESS: …") inside the DOM snapshot and the
 * screenshot, as if the page had said it. Now the refusal is an empty answer: nothing of it can
 * be read as page content, while the refusal itself stays on record (page facts, WARC metadata).
 */
describe('an iframe or popup sent to a blocked address', () => {
  const PROXY_TEXT = /Exhibit recording proxy|BLOCKED_ADDRESS|loopback address/;

  it.each(['/iframe', '/popup'])('%s: the page is captured, the refusal is recorded and shows nowhere in it', async (route) => {
    const run = await env.capture(`${site.url}${route}`);
    expect(run.out.failure).toBeNull();
    expect(run.out.status).toBe('captured');
    const dom = run.read('dom.html').toString('utf8');
    expect(dom).toContain('the page itself');
    expect(dom).not.toMatch(PROXY_TEXT);
    // The MHTML snapshot holds every frame's document as rendered: the iframe's content is in it.
    const mhtml = run.read('page.mhtml').toString('utf8');
    expect(mhtml).toContain('the page itself');
    expect(mhtml).not.toMatch(PROXY_TEXT);
    const facts = run.json<{ blockedRequests: Array<{ url: string; reason: string }> }>('page-facts.json');
    expect(facts.blockedRequests).toContainEqual({ url: blocked, reason: expect.stringMatching(/^BLOCKED_ADDRESS: .*loopback address/) });
    // The WARC's metadata record for the refused request names the refusal.
    const warc = gunzipSync(run.read('traffic.warc.gz')).toString('latin1');
    const records = warc.split('WARC/1.1\r\n').filter((r) => r.includes(`WARC-Target-URI: ${blocked}`) && r.includes('WARC-Type: metadata'));
    expect(records.length).toBeGreaterThan(0);
    expect(records[0]).toContain('exhibit-error-code: BLOCKED_ADDRESS');
    expect(trap.connections()).toBe(0);
  });
});
