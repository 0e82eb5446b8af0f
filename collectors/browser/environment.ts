import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import * as os from 'node:os';
import type { CaptureEnvironment } from '../../schemas/capture.js';
import { redactUrl } from '../../lib/target-url.js';

/** What the egress echo endpoint told us. `ip` is null (and `error` says why) when unknown. */
export interface EgressResult {
  ip: string | null;
  /** The echo endpoint asked (credentials redacted), or null when none is configured. */
  source: string | null;
  error: string | null;
}

let cachedPlaywrightVersion: string | null = null;

/** Version of the installed playwright-core, from its package.json. */
export function playwrightVersion(): string {
  if (cachedPlaywrightVersion === null) {
    const require = createRequire(import.meta.url);
    const pkg = JSON.parse(readFileSync(require.resolve('playwright-core/package.json'), 'utf8')) as { version?: string };
    cachedPlaywrightVersion = pkg.version ?? 'unknown';
  }
  return cachedPlaywrightVersion;
}

/**
 * Local addresses as `<interface> <address>/<prefix>`: every non-internal address first, then
 * loopback ones marked `(loopback)`, so the record shows which networks the capture host sat on.
 */
export function localAddresses(ifaces: NodeJS.Dict<os.NetworkInterfaceInfo[]> = os.networkInterfaces()): string[] {
  const external: string[] = [];
  const loopback: string[] = [];
  for (const [name, infos] of Object.entries(ifaces)) {
    for (const info of infos ?? []) {
      const prefix = info.cidr ? info.cidr.slice(info.cidr.lastIndexOf('/')) : '';
      const entry = `${name} ${info.address}${prefix}`;
      if (info.internal) loopback.push(`${entry} (loopback)`);
      else external.push(entry);
    }
  }
  return [...external, ...loopback];
}

/**
 * Read an echo endpoint's answer: plain text holding an IP, or JSON with an `ip` (or `origin`,
 * `address`, `query`) field.
 * @returns the IP, or an error string naming what was wrong.
 */
export function parseEgressResponse(body: string): { ip: string } | { error: string } {
  const text = body.trim();
  let candidate: unknown = text;
  if (text.startsWith('{')) {
    try {
      const obj = JSON.parse(text) as Record<string, unknown>;
      candidate = obj.ip ?? obj.origin ?? obj.address ?? obj.query;
    } catch (err) {
      return { error: `echo response is not valid JSON: ${(err as Error).message}` };
    }
  }
  if (typeof candidate !== 'string') return { error: 'echo response has no "ip" field' };
  // httpbin-style `origin` may list several hops: the first is the client.
  const first = candidate.split(',')[0]!.trim();
  if (isIP(first) === 0) return { error: `echo response is not an IP address: ${JSON.stringify(text.slice(0, 80))}` };
  return { ip: first };
}

const MAX_ECHO_BYTES = 4096;

function readBody(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_ECHO_BYTES) return void res.destroy(new Error(`echo response larger than ${MAX_ECHO_BYTES} bytes`));
      chunks.push(c);
    });
    res.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.once('error', reject);
  });
}

/** GET through an HTTP upstream proxy: absolute-form for http, a CONNECT tunnel for https. */
function getViaProxy(target: URL, proxy: URL, signal: AbortSignal): Promise<{ status: number; body: string }> {
  const proxyAuth = proxy.username ? `Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}` : null;
  const proxyPort = Number(proxy.port || 80);
  const finish = (res: http.IncomingMessage) => readBody(res).then((body) => ({ status: res.statusCode ?? 0, body }));
  if (target.protocol === 'http:') {
    return new Promise((resolve, reject) => {
      const req = http.request({ host: proxy.hostname, port: proxyPort, method: 'GET', path: target.href, headers: { Host: target.host, ...(proxyAuth ? { 'Proxy-Authorization': proxyAuth } : {}) }, signal });
      req.once('response', (res) => finish(res).then(resolve, reject));
      req.once('error', reject);
      req.end();
    });
  }
  return new Promise((resolve, reject) => {
    const port = Number(target.port || 443);
    const connect = http.request({ host: proxy.hostname, port: proxyPort, method: 'CONNECT', path: `${target.hostname}:${port}`, headers: { Host: `${target.hostname}:${port}`, ...(proxyAuth ? { 'Proxy-Authorization': proxyAuth } : {}) }, signal });
    connect.once('connect', (res, socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        return reject(new Error(`upstream proxy refused CONNECT: ${res.statusCode}`));
      }
      const req = https.request({ host: target.hostname, servername: target.hostname, port, method: 'GET', path: `${target.pathname}${target.search}`, createConnection: () => socket, signal } as https.RequestOptions);
      req.once('response', (r) => finish(r).then(resolve, reject));
      req.once('error', reject);
      req.end();
    });
    connect.once('error', reject);
    connect.end();
  });
}

/**
 * Ask the echo endpoint which public IP our traffic leaves from, through the same upstream proxy
 * the capture uses. Never throws: an unconfigured or unreachable endpoint is recorded as unknown.
 */
export async function fetchEgressIp(echoUrl: string | null, opts: { upstreamProxy: string | null; timeoutMs?: number; signal?: AbortSignal }): Promise<EgressResult> {
  if (!echoUrl) return { ip: null, source: null, error: 'no egress echo endpoint configured' };
  const source = redactUrl(echoUrl);
  const timeout = AbortSignal.timeout(opts.timeoutMs ?? 5000);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  try {
    const target = new URL(echoUrl);
    let status: number;
    let body: string;
    if (opts.upstreamProxy) {
      ({ status, body } = await getViaProxy(target, new URL(opts.upstreamProxy), signal));
    } else {
      const res = await fetch(target, { signal, redirect: 'error', headers: { Accept: 'application/json, text/plain' } });
      status = res.status;
      body = (await res.text()).slice(0, MAX_ECHO_BYTES);
    }
    if (status < 200 || status > 299) return { ip: null, source, error: `echo endpoint answered HTTP ${status}` };
    const parsed = parseEgressResponse(body);
    return 'ip' in parsed ? { ip: parsed.ip, source, error: null } : { ip: null, source, error: parsed.error };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const why = timeout.aborted ? `no answer within ${opts.timeoutMs ?? 5000} ms` : (e.cause?.code ?? e.cause?.message ?? e.message);
    return { ip: null, source, error: `echo endpoint unreachable: ${why}` };
  }
}

export interface EnvironmentInput {
  software: { exhibitVersion: string; gitCommit: string | null };
  collector: { id: string; version: string };
  browserVersion: string;
  userAgent: string;
  viewport: { width: number; height: number };
  locale: string;
  timezone: string;
  operator: string;
  startedAt: string;
  finishedAt: string;
  upstreamProxy: string | null;
  egress: EgressResult;
  captureMethod: string;
  /** The collection account used (never its cookies); left out when none was requested. */
  account?: CaptureEnvironment['account'];
}

/** The capture environment record: who captured, with what, from where. */
export function buildEnvironment(input: EnvironmentInput): CaptureEnvironment {
  return {
    exhibitVersion: input.software.exhibitVersion,
    gitCommit: input.software.gitCommit,
    collector: input.collector,
    playwrightVersion: playwrightVersion(),
    browserVersion: input.browserVersion,
    userAgent: input.userAgent,
    viewport: input.viewport,
    locale: input.locale,
    timezone: input.timezone,
    hostname: os.hostname(),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    nodeVersion: process.version,
    operator: input.operator,
    startedAt: input.startedAt,
    finishedAt: input.finishedAt,
    network: {
      localAddresses: localAddresses(),
      proxy: input.upstreamProxy ? redactUrl(input.upstreamProxy) : null,
      egressIp: input.egress.ip,
      egressIpSource: input.egress.source,
      egressIpError: input.egress.error,
    },
    captureMethod: input.captureMethod,
    ...(input.account !== undefined ? { account: input.account } : {}),
  };
}
