import { X509Certificate } from 'node:crypto';
import * as http from 'node:http';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { TlsFacts } from '../../schemas/capture.js';
import { ExhibitError, PermanentError, TransientError } from '../../lib/errors.js';
import { redactUrl } from '../../lib/target-url.js';
import { checkAddress, isIpLiteral, lookupHost, systemLookup, type LookupFn, type NetPolicy } from './net-policy.js';
import type { DnsFacts } from './recorded-exchange.js';

/**
 * Opening the upstream connection for one exchange: resolve and check the target against the
 * policy, connect (directly or through the configured upstream proxy), and for https do the TLS
 * handshake without rejecting bad certificates, so their facts can still be recorded.
 */

/** Facts about the connection, filled in as they become known (so a failure still reports them). */
export interface ConnectionFacts {
  dns: DnsFacts | null;
  remoteIp: string | null;
  remotePort: number | null;
  tls: TlsFacts | null;
  upstreamProxy: string | null;
}

export interface ConnectOptions {
  policy: NetPolicy;
  lookup?: LookupFn;
  /** Parsed upstream proxy URL (http: only) or null for direct connections. */
  upstreamProxy: URL | null;
  connectTimeoutMs: number;
}

/** A connected upstream socket. */
export interface UpstreamConnection {
  socket: net.Socket;
  /**
   * For plain http through an upstream proxy: the absolute-form request target to send, naming the
   * address that passed the policy (`http://93.184.215.14/path`), so the proxy connects there and
   * never resolves the name again; the request's own Host header still names the site. Null for
   * direct connections and tunnels (origin-form).
   */
  proxyRequestTarget: string | null;
}

const stripBrackets = (h: string) => (h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h);
const authority = (host: string, port: number) => (net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`);

function tcpConnect(host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const fail = (err: Error) => {
      socket.destroy();
      reject(err);
    };
    socket.setTimeout(timeoutMs, () => fail(new TransientError('TIMEOUT', `connecting to ${authority(host, port)} timed out after ${timeoutMs} ms`)));
    socket.once('error', (cause: NodeJS.ErrnoException) =>
      fail(new TransientError('CONNECTION_FAILED', `connecting to ${authority(host, port)} failed: ${cause.code ?? cause.message}`, { cause })),
    );
    socket.once('connect', () => {
      socket.setTimeout(0);
      socket.removeAllListeners('error');
      resolve(socket);
    });
  });
}

/** Connect to the first address that answers, in resolver order. */
async function connectAny(addresses: readonly string[], port: number, timeoutMs: number): Promise<net.Socket> {
  let last: unknown = new PermanentError('DNS_FAILURE', 'no address to connect to');
  for (const address of addresses) {
    try {
      return await tcpConnect(address, port, timeoutMs);
    } catch (err) {
      last = err;
    }
  }
  throw last;
}

/** Ask an HTTP proxy for a tunnel to `target` (an IP authority we already checked). */
function tunnel(proxySocket: net.Socket, target: string, proxy: URL, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { Host: target };
    if (proxy.username) {
      const creds = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
      headers['Proxy-Authorization'] = `Basic ${Buffer.from(creds).toString('base64')}`;
    }
    const req = http.request({ method: 'CONNECT', path: target, headers, createConnection: () => proxySocket, timeout: timeoutMs });
    req.once('connect', (res, socket, head) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        reject(new TransientError('CONNECTION_FAILED', `upstream proxy ${redactUrl(proxy)} refused CONNECT ${target}: ${res.statusCode} ${res.statusMessage ?? ''}`.trim()));
        return;
      }
      if (head.length > 0) socket.unshift(head);
      resolve(socket);
    });
    req.once('timeout', () => req.destroy(new TransientError('TIMEOUT', `upstream proxy ${redactUrl(proxy)} did not answer CONNECT within ${timeoutMs} ms`)));
    req.once('error', (cause) =>
      reject(cause instanceof ExhibitError ? cause : new TransientError('CONNECTION_FAILED', `upstream proxy ${redactUrl(proxy)}: ${cause.message}`, { cause })),
    );
    req.end();
  });
}

/** Facts about the peer certificate of a connected TLS socket. */
export function tlsFactsOf(socket: tls.TLSSocket): TlsFacts {
  const peer = socket.getPeerCertificate();
  let x509: X509Certificate | null = null;
  try {
    x509 = peer && peer.raw ? new X509Certificate(peer.raw) : null;
  } catch {
    x509 = null;
  }
  const dn = (s: string) => s.split('\n').filter(Boolean).join(', ');
  const iso = (s: string) => {
    const d = new Date(s);
    return Number.isNaN(d.getTime()) ? s : d.toISOString().replace(/\.000Z$/, 'Z');
  };
  const authError = socket.authorizationError as unknown;
  return {
    protocol: socket.getProtocol() ?? null,
    cipher: socket.getCipher()?.name ?? null,
    subject: x509 ? dn(x509.subject) : null,
    issuer: x509 ? dn(x509.issuer) : null,
    validFrom: x509 ? iso(x509.validFrom) : null,
    validTo: x509 ? iso(x509.validTo) : null,
    fingerprintSha256: x509 ? `sha256:${x509.fingerprint256.replace(/:/g, '').toLowerCase()}` : null,
    authorized: socket.authorized,
    authorizationError: authError == null ? null : authError instanceof Error ? authError.message : String(authError),
  };
}

function tlsHandshake(socket: net.Socket, servername: string | undefined, timeoutMs: number): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    // rejectUnauthorized: false so an invalid chain is recorded (authorized=false) rather than lost.
    const tlsSocket = tls.connect({ socket, servername, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] });
    const timer = setTimeout(() => tlsSocket.destroy(new TransientError('TIMEOUT', `TLS handshake timed out after ${timeoutMs} ms`)), timeoutMs);
    tlsSocket.once('secureConnect', () => {
      clearTimeout(timer);
      tlsSocket.removeAllListeners('error');
      resolve(tlsSocket);
    });
    tlsSocket.once('error', (cause) => {
      clearTimeout(timer);
      socket.destroy();
      reject(cause instanceof ExhibitError ? cause : new PermanentError('TLS_ERROR', `TLS handshake failed: ${cause.message}`, { cause }));
    });
  });
}

/**
 * Open the upstream connection for `target`, filling `facts` as it goes.
 * @throws ExhibitError `BLOCKED_ADDRESS`, `DNS_FAILURE`, `CONNECTION_FAILED`, `TIMEOUT` or `TLS_ERROR`.
 */
export async function connectUpstream(target: URL, opts: ConnectOptions, facts: ConnectionFacts): Promise<UpstreamConnection> {
  const host = stripBrackets(target.hostname);
  const port = Number(target.port || (target.protocol === 'https:' ? 443 : 80));
  const https = target.protocol === 'https:';

  // Resolve and check first: a refused target never gets a connection, not even through a proxy.
  let addresses: string[];
  if (isIpLiteral(host)) {
    checkAddress(opts.policy, host);
    addresses = [host];
  } else {
    try {
      addresses = await lookupHost(host, opts.lookup);
    } catch (err) {
      facts.dns = { host, addresses: [], error: err instanceof Error ? err.message : String(err) };
      throw err;
    }
    facts.dns = { host, addresses, error: null };
    for (const address of addresses) checkAddress(opts.policy, address, host);
  }

  let socket: net.Socket;
  let proxyRequestTarget: string | null = null;
  if (opts.upstreamProxy) {
    const proxy = opts.upstreamProxy;
    facts.upstreamProxy = redactUrl(proxy);
    const proxyHost = stripBrackets(proxy.hostname);
    const proxyAddrs = isIpLiteral(proxyHost) ? [proxyHost] : (await (opts.lookup ?? systemLookup)(proxyHost)).map((a) => a.address);
    socket = await connectAny(proxyAddrs, Number(proxy.port || 80), opts.connectTimeoutMs);
    facts.remoteIp = socket.remoteAddress ?? null;
    facts.remotePort = socket.remotePort ?? null;
    // Both schemes name the address we checked, so the proxy cannot resolve the name elsewhere
    // (DNS rebinding, or a proxy with another view of DNS): https tunnels to it, http asks for it.
    if (https) socket = await tunnel(socket, authority(addresses[0]!, port), proxy, opts.connectTimeoutMs);
    else proxyRequestTarget = `http://${port === 80 ? (net.isIPv6(addresses[0]!) ? `[${addresses[0]!}]` : addresses[0]!) : authority(addresses[0]!, port)}${target.pathname}${target.search}`;
  } else {
    socket = await connectAny(addresses, port, opts.connectTimeoutMs);
    facts.remoteIp = socket.remoteAddress ?? null;
    facts.remotePort = socket.remotePort ?? null;
  }

  if (https) {
    const tlsSocket = await tlsHandshake(socket, isIpLiteral(host) ? undefined : host, opts.connectTimeoutMs);
    facts.tls = tlsFactsOf(tlsSocket);
    socket = tlsSocket;
  }
  return { socket, proxyRequestTarget };
}
