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
