import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendText, startFixture, type FixtureSite } from '../fixtures/fixture-server.js';
import { BLOCKED_HOST, hostileEnv, tcpTrap, udpTrap, type HostileEnv } from '../support/hostile-capture.js';

/**
 * Attack (issue 11, item 5): a captured page reaching the network around the recording proxy and
 * the network policy. Before the fix a page captured without private networks sent STUN packets to
 * a loopback address over UDP: neither blocked nor in the WARC. Each other way a page could talk to
 * the network without the proxy gets its own case here. Every case observes the network itself: a
 * UDP socket or TCP listener on a blocked loopback address counts what arrives, and the page's own
 * origin (127.0.0.1) is the only address the policy allows.
 */

let env: HostileEnv;
let site: FixtureSite;
let udp: Awaited<ReturnType<typeof udpTrap>>;
let tcp: Awaited<ReturnType<typeof tcpTrap>>;
/** Each page reports what it tried here, so a case cannot pass because the page never ran. */
const reports = new Map<string, string>();
const holds = new Map<string, () => void>();

const html = (script: string, head = '') =>
  `<!doctype html><html><head><title>hostile</title>${head}</head><body><h1>hostile</h1><script>
// Held open by the server until the page reports, so the capture waits for the attempt to finish.
fetch('/hold?' + new URLSearchParams({ page: location.pathname })).catch(() => undefined);
const report = (what) => fetch('/report?' + new URLSearchParams({ page: location.pathname, what }), { method: 'POST' }).catch(() => undefined);
${script}
</script></body></html>`;

beforeAll(async () => {
  env = hostileEnv();
  udp = await udpTrap();
  tcp = await tcpTrap();
  const stun = `stun:${BLOCKED_HOST}:${udp.port}`;
  const turnTcp = `turn:${BLOCKED_HOST}:${tcp.port}?transport=tcp`;
  site = await startFixture((req, res, url) => {
    const pageName = url.searchParams.get('page') ?? '';
    if (url.pathname === '/report') {
      reports.set(pageName, url.searchParams.get('what') ?? '');
      holds.get(pageName)?.();
      return sendText(res, 204, 'text/plain', '');
    }
    if (url.pathname === '/hold') {
      return new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          holds.delete(pageName);
          sendText(res, 200, 'text/plain', 'released\n');
          resolve();
        };
        const timer = setTimeout(done, 5000);
        holds.set(pageName, done);
      });
    }
    const pages: Record<string, string> = {
      // ICE gathering sends STUN binding requests to the server; TURN over TCP opens a connection.
      '/webrtc': html(`
(async () => {
  const pc = new RTCPeerConnection({ iceServers: [{ urls: ${JSON.stringify(stun)} }, { urls: ${JSON.stringify(turnTcp)}, username: 'u', credential: 'p' }] });
  pc.createDataChannel('x');
  const seen = [];
  pc.onicecandidate = (e) => { if (e.candidate) seen.push(e.candidate.type); };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((r) => setTimeout(r, 1500));
  await report('webrtc ran; candidates: ' + seen.join(','));
})().catch((e) => report('webrtc error: ' + e));`),
      // WebTransport is HTTP/3 over QUIC (UDP).
      '/webtransport': html(`
(async () => {
  let outcome = 'no WebTransport';
  if (typeof WebTransport === 'function') {
    try {
      const wt = new WebTransport('https://${BLOCKED_HOST}:${udp.port}/wt');
      outcome = await Promise.race([wt.ready.then(() => 'ready', (e) => 'refused: ' + e), new Promise((r) => setTimeout(() => r('pending'), 1500))]);
    } catch (e) { outcome = 'threw: ' + e; }
  }
  await report('webtransport ran: ' + outcome);
})();`),
      // Resource hints: must neither resolve nor connect outside the proxy.
      '/hints': html(
        `setTimeout(() => report('hints ran'), 800);`,
        `<link rel="dns-prefetch" href="//dns-prefetch-probe.exhibit.invalid"><link rel="preconnect" href="http://${BLOCKED_HOST}:${tcp.port}"><link rel="preconnect" href="http://preconnect-probe.exhibit.invalid"><link rel="dns-prefetch" href="//${BLOCKED_HOST}:${tcp.port}"><link rel="prefetch" href="http://${BLOCKED_HOST}:${tcp.port}/prefetched">`,
      ),
      // A service worker's fetches: registration or its fetch must stay inside proxy and policy.
      '/service-worker': html(`
(async () => {
  if (!('serviceWorker' in navigator)) return report('service worker refused: no navigator.serviceWorker');
  const registered = navigator.serviceWorker.register('/sw.js').then(() => navigator.serviceWorker.ready).then(
    () => new Promise((r) => setTimeout(() => r('service worker active'), 800)),
    (e) => 'service worker refused: ' + e.name,
  );
  // A blocked registration may never settle.
  await report(await Promise.race([registered, new Promise((r) => setTimeout(() => r('service worker refused: not registered within 2 s'), 2000))]));
})();`),
      // WebSockets: ws:// to another port and host.
      '/websocket': html(`
const ws = new WebSocket('ws://${BLOCKED_HOST}:${tcp.port}/socket');
ws.onopen = () => report('websocket open');
ws.onerror = () => report('websocket error');
setTimeout(() => report('websocket ' + ws.readyState), 1500);`),
    };
    if (url.pathname === '/sw.js') {
      return sendText(res, 200, 'text/javascript', `self.addEventListener('install', (e) => e.waitUntil(fetch('http://${BLOCKED_HOST}:${tcp.port}/from-worker').catch(() => undefined)));`);
    }
    const page = pages[url.pathname];
    if (page === undefined) return sendText(res, 404, 'text/plain', 'not found\n');
    sendText(res, 200, 'text/html; charset=utf-8', page);
  });
});

afterAll(async () => {
  await env?.close();
  await site?.close();
  await udp?.close();
  await tcp?.close();
});

async function captureAndCount(route: string): Promise<{ packets: number; connections: number; report: string | undefined; blocked: Array<{ url: string; reason: string }> }> {
  reports.delete(route);
  const packets = udp.packets();
  const connections = tcp.connections();
  const run = await env.capture(`${site.url}${route}`);
  expect(run.out.status).toBe('captured');
  // Late packets (retransmissions) still count: give them a moment to arrive.
  await new Promise((r) => setTimeout(r, 300));
  const facts = run.json<{ blockedRequests: Array<{ url: string; reason: string }> }>('page-facts.json');
  return { packets: udp.packets() - packets, connections: tcp.connections() - connections, report: reports.get(route), blocked: facts.blockedRequests };
}

describe('every channel of a captured page goes through the recording proxy and the policy', () => {
  it('WebRTC: no STUN packet over UDP and no TURN connection outside the proxy', async () => {
    const r = await captureAndCount('/webrtc');
    expect(r.report).toMatch(/^webrtc/);
    expect(r.packets).toBe(0);
    expect(r.connections).toBe(0);
  });

  it('WebTransport (QUIC): no UDP packet', async () => {
    const r = await captureAndCount('/webtransport');
    expect(r.report).toMatch(/^webtransport ran/);
    expect(r.packets).toBe(0);
  });

  it('dns-prefetch, preconnect and prefetch: no connection outside the proxy; a prefetch goes through it and is refused', async () => {
    const r = await captureAndCount('/hints');
    expect(r.report).toBe('hints ran');
    expect(r.blocked).toContainEqual({ url: `http://${BLOCKED_HOST}:${tcp.port}/prefetched`, reason: expect.stringMatching(/^BLOCKED_ADDRESS/) });
    expect(r.connections).toBe(0);
    expect(r.packets).toBe(0);
  });

  it("service workers: not registered, so none of their fetches can go around the capture", async () => {
    const r = await captureAndCount('/service-worker');
    expect(r.report).toMatch(/^service worker refused/);
    expect(r.connections).toBe(0);
  });

  it('WebSockets to another host and port: refused by the proxy, recorded as refused, nothing reaches the target', async () => {
    const r = await captureAndCount('/websocket');
    expect(r.report).toMatch(/^websocket (error|3)$/);
    expect(r.connections).toBe(0);
    expect(r.blocked.some((b) => b.url.startsWith(`ws://${BLOCKED_HOST}:${tcp.port}/socket`))).toBe(true);
  });
});

describe("the browser resolves no name itself (DNS prefetch, preconnect, its own background requests): Chromium's net log", () => {
  let dir: string;
  let netlog: string;
  let logged: HostileEnv;

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'exhibit-netlog-'));
    netlog = path.join(dir, 'netlog.json');
    const wrapper = path.join(dir, 'chromium');
    writeFileSync(wrapper, `#!/bin/sh\nexec /usr/bin/chromium --log-net-log=${netlog} --net-log-capture-mode=Default "$@"\n`);
    chmodSync(wrapper, 0o755);
    logged = hostileEnv({ chromiumPath: wrapper });
  });
  afterAll(async () => {
    await logged?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('no DNS query for any name, only the proxy address', async () => {
    const run = await logged.capture(`${site.url}/hints`);
    expect(run.out.status).toBe('captured');
    await logged.pool.close(); // the net log is complete once the browser exits
    const log = JSON.parse(readFileSync(netlog, 'utf8')) as { constants: { logEventTypes: Record<string, number> }; events: Array<{ type: number; params?: Record<string, unknown> }> };
    const resolverTypes = new Set(Object.entries(log.constants.logEventTypes).filter(([name]) => name.startsWith('HOST_RESOLVER')).map(([, n]) => n));
    const hosts = log.events
      .filter((e) => resolverTypes.has(e.type) && typeof e.params?.['host'] === 'string')
      .map((e) => new URL(String(e.params!['host'])).hostname);
    // The log does record resolutions: the proxy's own address, a literal …
    expect(hosts).toContain('127.0.0.1');
    // … and every name, the page's hints and the browser's own (update checks, …), is refused
    // before any DNS query: only literals and the `~NOTFOUND` mapping appear.
    expect(hosts.filter((h) => h !== '~notfound' && !/^127\.\d+\.\d+\.\d+$/.test(h))).toEqual([]);
  });
});
