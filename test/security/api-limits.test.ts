import http from 'node:http';
import { Readable } from 'node:stream';
import yazl from 'yazl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../../workers/runtime.js';
import { createApi, listen, type Api } from '../../app/api/server.js';
import { PartnerStore } from '../../evidence/partners.js';
import { SignInThrottle } from '../../workers/sign-in-throttle.js';
import { startPipelineEnv, type PipelineEnv } from '../support/pipeline-env.js';

/**
 * Attacks on the HTTP API over a real listening server (node-server, real Redis): oversized bodies
 * sent chunked, sessions outliving revoked tokens, sign-in guessing, a zip bomb to verify.
 */

const MiB = 1024 * 1024;
const ATTACK_BYTES = 400 * MiB;

interface Sent {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** Body bytes the client had handed to the socket when the response head arrived. */
  sentWhenAnswered: number;
  /** Whether the client had sent the whole body by then. */
  finishedSending: boolean;
  /** Whether the server closed the connection after answering. */
  serverClosed: boolean;
}

/** POST `total` bytes chunked (no Content-Length), 1 MiB at a time, stopping once the answer arrives. */
function postChunked(url: string, total: number, headers: Record<string, string> = {}): Promise<Sent> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { 'content-type': 'application/json', ...headers } });
    const chunk = Buffer.alloc(MiB, 0x20);
    let sent = 0;
    let answered = false;
    req.on('response', (res) => {
      answered = true;
      const sentWhenAnswered = sent;
      const finishedSending = sent >= total;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        // Did the server close the connection (rather than keep reading the body)? Wait a bounded while.
        const socket = req.socket;
        const done = (serverClosed: boolean) => {
          clearTimeout(timer);
          req.destroy();
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, sentWhenAnswered, finishedSending, serverClosed });
        };
        const timer = setTimeout(() => done(false), 10_000);
        if (res.statusCode !== 413) done(false);
        else if (!socket || socket.destroyed) done(true);
        else socket.once('close', () => done(true));
      });
    });
    req.on('error', (e) => {
      if (!answered) reject(e);
    });
    const pump = () => {
      while (!answered && sent < total) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      if (!answered) req.end();
    };
    pump();
  });
}

/** A JSON request from a chosen loopback source address (the whole of 127/8 is loopback). */
function requestFrom(localAddress: string, url: string, method: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method, localAddress, agent: false, headers: { ...(payload ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) } : {}), ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('API limits (real server, real Redis)', () => {
  let s: Services;
  let api: Api;
  let api2: Api;
  let server: Awaited<ReturnType<typeof listen>>;
  let server2: Awaited<ReturnType<typeof listen>>;
  let env: PipelineEnv;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    env = await startPipelineEnv({
      name: 'sec-api',
      tsa: false,
      workers: false,
      logLevel: 'silent',
      config: { api: { maxBodyBytes: 64 * 1024, maxUploadBytes: 8 * MiB, signIn: { freeAttempts: 3, baseDelayMs: 1_000, maxDelayMs: 4_000 } } },
    });
    s = env.s;
    api = createApi(s, { queueDashboard: false });
    // A second server process on the same Redis: sign-in failures count across both.
    api2 = createApi(s, { queueDashboard: false });
    server = await listen(api, '127.0.0.1', 0);
    server2 = await listen(api2, '127.0.0.1', 0);
    for (const [name, role] of [
      ['admin-1', 'admin'],
      ['analyst-1', 'analyst'],
      ['auditor-1', 'auditor'],
      ['prosecutor-1', 'prosecutor'],
      ['victim-1', 'analyst'],
      ['victim-2', 'analyst'],
      ['victim-3', 'analyst'],
    ] as const) {
      await api.deps.users.add(name, role, ['C-SEC-001'], 'test');
      tokens[name] = (await api.deps.users.issueToken(name)).token;
    }
  });
  afterAll(async () => {
    await server?.close();
    await server2?.close();
    await api?.close();
    await api2?.close();
    await env?.close();
  });

  describe('request bodies are limited while they stream in', () => {
    it('refuses a 400 MB chunked body to the public sign-in with 413 before it has been sent, and closes the connection', async () => {
      const r = await postChunked(`${server.url}/api/session`, ATTACK_BYTES);
      expect(r.status).toBe(413);
      expect(JSON.parse(r.body)).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', message: expect.any(String) });
      // The server stopped reading: the answer came while most of the body was still unsent
      // (what was sent is the limit plus socket buffers, nowhere near 400 MB).
      expect(r.finishedSending).toBe(false);
      expect(r.sentWhenAnswered).toBeLessThan(64 * MiB);
      expect(r.headers.connection).toBe('close');
      expect(r.serverClosed).toBe(true);
    });

    it('refuses a declared Content-Length over the limit without reading the body', async () => {
      const r = await requestFrom('127.0.0.1', `${server.url}/api/session`, 'POST', { name: 'x', token: 'y'.repeat(100 * 1024) });
      expect(r.status).toBe(413);
      expect(r.json).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    });

    it('holds authenticated routes to the limit too', async () => {
      const r = await postChunked(`${server.url}/api/cases/C-SEC-001/captures`, ATTACK_BYTES, { authorization: `Bearer ${tokens['analyst-1']}` });
      expect(r.status).toBe(413);
      expect(r.finishedSending).toBe(false);
    });

    it('gives the verify upload its own larger limit, and stops reading past it', async () => {
      const auth = { authorization: `Bearer ${tokens['auditor-1']}`, 'content-type': 'application/zip' };
      // 2 MiB: over the global 64 KiB, under the upload limit: read whole and verified (not a zip).
      const ok = await postChunked(`${server.url}/api/verify`, 2 * MiB, auth);
      expect(ok.status, ok.body).toBe(200);
      expect(JSON.parse(ok.body)).toMatchObject({ report: { ok: false } });
      const big = await postChunked(`${server.url}/api/verify`, ATTACK_BYTES, auth);
      expect(big.status).toBe(413);
      expect(JSON.parse(big.body)).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
      expect(big.finishedSending).toBe(false);
      expect(big.sentWhenAnswered).toBeLessThan(72 * MiB);
    });

    it('the server answers normally after the refused bodies', async () => {
      const r = await requestFrom('127.0.0.1', `${server.url}/api/health`, 'GET');
      expect(r.status).toBe(200);
    });
  });

  describe('verify does not inflate more than the upload allows', () => {
    /** A 100 MiB entry of zeros deflated to a few hundred KB. */
    const bomb = async () => {
      const zip = new yazl.ZipFile();
      let left = 100 * MiB;
      const zeros = new Readable({
        read() {
          const n = Math.min(left, MiB);
          left -= n;
          this.push(n ? Buffer.alloc(n) : null);
        },
      });
      zip.addReadStream(zeros, 'bomb/data/zeros.bin', { compress: true });
      zip.end();
      const parts: Buffer[] = [];
      for await (const c of zip.outputStream as AsyncIterable<Buffer>) parts.push(c);
      return Buffer.concat(parts);
    };
    it('refuses a zip bomb (a 100 MiB entry deflated to a few hundred KB) before inflating it', async () => {
      const bytes = await bomb();
      expect(bytes.length).toBeLessThan(2 * MiB);
      const res = await api.app.request('/api/verify', { method: 'POST', headers: { authorization: `Bearer ${tokens['auditor-1']}`, 'content-type': 'application/zip' }, body: bytes });
      expect(res.status).toBe(200);
      const { report } = (await res.json()) as { report: { ok: boolean; failures: Array<{ check: string; message: string }> } };
      expect(report.ok).toBe(false);
      expect(report.failures).toEqual(expect.arrayContaining([expect.objectContaining({ check: 'zip', message: expect.stringMatching(/expands to more than/) })]));
    });
    it('refuses the same zip bomb sent as a package from a partner (import), before inflating it, recording nothing', async () => {
      await new PartnerStore(s.config.trust.partnersFile).add('agency-bomb', { signingKeys: [`sha256:${'b'.repeat(64)}`] });
      const before = (await s.custody.readLog('C-SEC-001')).length;
      const res = await api.app.request('/api/cases/C-SEC-001/imports?from=agency-bomb', { method: 'POST', headers: { authorization: `Bearer ${tokens['prosecutor-1']}`, 'content-type': 'application/zip' }, body: await bomb() });
      expect(res.status).toBe(409);
      const body = (await res.json()) as { code: string; message: string };
      expect(body.code).toBe('PACKAGE_INVALID');
      expect(body.message).toMatch(/expands to more than/);
      expect((await s.custody.readLog('C-SEC-001')).length).toBe(before);
    });
  });

  describe('revoking tokens ends the sessions made with them', () => {
    const signIn = async (name: string, from = '127.0.0.1') => {
      const r = await requestFrom(from, `${server.url}/api/session`, 'POST', { name, token: tokens[name] });
      expect(r.status, JSON.stringify(r.json)).toBe(200);
      const cookie = String(r.headers['set-cookie']?.[0] ?? '').split(';')[0]!;
      return { cookie, csrf: String(r.json.csrfToken) };
    };
    const asSession = (sess: { cookie: string; csrf: string }, method: string, p: string, body?: unknown) =>
      requestFrom('127.0.0.1', `${server.url}${p}`, method, body, { cookie: sess.cookie, 'x-csrf-token': sess.csrf });

    it('a revoked user can neither list cases nor submit captures with an open session', async () => {
      await api.deps.users.add('leaver-1', 'analyst', ['C-SEC-001'], 'test');
      tokens['leaver-1'] = (await api.deps.users.issueToken('leaver-1')).token;
      const sess = await signIn('leaver-1');
      expect((await asSession(sess, 'GET', '/api/cases')).status).toBe(200);
      const revoke = await requestFrom('127.0.0.1', `${server.url}/api/users/leaver-1/tokens`, 'DELETE', undefined, { authorization: `Bearer ${tokens['admin-1']}` });
      expect(revoke.json).toEqual({ revoked: 1 });
      const list = await asSession(sess, 'GET', '/api/cases');
      expect(list.status).toBe(401);
      expect(list.json).toMatchObject({ code: 'UNAUTHENTICATED' });
      const submit = await asSession(sess, 'POST', '/api/cases/C-SEC-001/captures', { url: 'https://example.org/' });
      expect(submit.status).toBe(401);
      expect((await asSession(sess, 'GET', '/api/session')).status).toBe(401);
    });

    it('disabling a user ends their sessions, and enabling them again does not revive one', async () => {
      await api.deps.users.add('leaver-2', 'analyst', ['C-SEC-001'], 'test');
      tokens['leaver-2'] = (await api.deps.users.issueToken('leaver-2')).token;
      const sess = await signIn('leaver-2');
      expect((await asSession(sess, 'GET', '/api/cases')).status).toBe(200);
      const admin = { authorization: `Bearer ${tokens['admin-1']}` };
      expect((await requestFrom('127.0.0.1', `${server.url}/api/users/leaver-2`, 'PATCH', { disabled: true }, admin)).status).toBe(200);
      expect((await asSession(sess, 'GET', '/api/cases')).status).toBe(401);
      expect((await requestFrom('127.0.0.1', `${server.url}/api/users/leaver-2`, 'PATCH', { disabled: false }, admin)).status).toBe(200);
      expect((await asSession(sess, 'GET', '/api/cases')).status).toBe(401);
      // The token itself still works, and a new sign-in gives a working session.
      expect((await asSession(await signIn('leaver-2'), 'GET', '/api/cases')).status).toBe(200);
    });
  });

  describe('sign-in back-off (3 free failures, then 1 s doubling; shared through Redis)', () => {
    const attempt = (name: string, token: string, from: string, url = server.url) => requestFrom(from, `${url}/api/session`, 'POST', { name, token });
    const wrong = 'exh_' + 'A'.repeat(43);

    /** Retry the right token until accepted; every refusal meanwhile must be a 429 with Retry-After. */
    const waitUntilAccepted = async (name: string, from: string) => {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const r = await attempt(name, tokens[name]!, from);
        if (r.status === 200) return;
        expect(r.status).toBe(429);
        expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1);
        if (Date.now() > deadline) throw new Error(`${name} still refused after 30 s`);
        await sleep(Number(r.headers['retry-after']) * 1000);
      }
    };

    it('locks a user guessed at from many addresses; the right token is refused during the delay, accepted after it, and resets the count', async () => {
      for (const from of ['127.0.0.2', '127.0.0.3']) expect((await attempt('victim-1', wrong, from)).status).toBe(401);
      // The third failure (through the other server) starts the delay.
      expect((await attempt('victim-1', wrong, '127.0.0.4', server2.url)).status).toBe(401);
      const refused = await attempt('victim-1', tokens['victim-1']!, '127.0.0.5');
      expect(refused.status).toBe(429);
      expect(refused.json).toMatchObject({ code: 'RATE_LIMITED', message: expect.any(String) });
      expect(refused.headers['retry-after']).toMatch(/^[1-9][0-9]*$/);
      // The other server refuses as well.
      expect((await attempt('victim-1', tokens['victim-1']!, '127.0.0.6', server2.url)).status).toBe(429);
      await waitUntilAccepted('victim-1', '127.0.0.5');
      // The success reset the user's count: two more failures do not lock it.
      for (const from of ['127.0.0.7', '127.0.0.8']) expect((await attempt('victim-1', wrong, from)).status).toBe(401);
      expect((await attempt('victim-1', tokens['victim-1']!, '127.0.0.7')).status).toBe(200);
    });

    it('locks an address trying many user names, for every user, while other addresses still sign in', async () => {
      for (const name of ['nobody-1', 'nobody-2', 'victim-2']) expect((await attempt(name, wrong, '127.0.0.20')).status).toBe(401);
      const refused = await attempt('analyst-1', tokens['analyst-1']!, '127.0.0.20');
      expect(refused.status).toBe(429);
      expect(refused.json).toMatchObject({ code: 'RATE_LIMITED' });
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      // victim-2 failed once (under its own limit): it signs in from elsewhere.
      expect((await attempt('victim-2', tokens['victim-2']!, '127.0.0.21')).status).toBe(200);
      // A success from the locked address does not clear the address: after the delay, one more
      // failure locks it again.
      await waitUntilAccepted('analyst-1', '127.0.0.20');
      expect((await attempt('nobody-3', wrong, '127.0.0.20')).status).toBe(401);
      const again = await attempt('analyst-1', tokens['analyst-1']!, '127.0.0.20');
      expect(again.status).toBe(429);
      expect(Number(again.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    });

    it('doubles the delay with each failure past the free ones, up to the maximum', async () => {
      const throttle = new SignInThrottle(s.redis, s.config.redis.prefix, { freeAttempts: 2, baseDelayMs: 100, maxDelayMs: 400, forgetAfterMs: 60_000 });
      const keys = throttle.keys('backoff-user', '192.0.2.1');
      const locks: number[] = [];
      for (let i = 0; i < 5; i++) {
        for (let w = await throttle.waitMs(keys); w > 0; w = await throttle.waitMs(keys)) await sleep(w);
        const a = await throttle.attempt(keys);
        if (a.refused) throw new Error('refused after its delay');
        locks.push(a.lockMs);
      }
      expect(locks).toEqual([0, 100, 200, 400, 400]);
      // While locked, an attempt is refused and counts nothing.
      const refused = await throttle.attempt(keys);
      expect(refused).toMatchObject({ refused: true, waitMs: expect.any(Number) });
    });

    it('lets no more than the free attempts through a burst of parallel guesses', async () => {
      const burst = await Promise.all(Array.from({ length: 20 }, (_, i) => attempt('victim-3', wrong, `127.0.1.${i + 1}`)));
      const statuses = burst.map((r) => r.status).sort();
      expect(statuses.filter((x) => x === 401)).toHaveLength(3);
      expect(statuses.filter((x) => x === 429)).toHaveLength(17);
    });
  });
});
