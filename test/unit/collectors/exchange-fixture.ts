import type { RecordedExchange } from '../../../collectors/browser/recorded-exchange.js';

let seq = 0;
/** A recorded exchange with sensible defaults. */
export function exchange(over: Partial<RecordedExchange> & { url: string }): RecordedExchange {
  seq += 1;
  return {
    id: `ex-${seq}`,
    startedAt: '2026-01-01T00:00:00.000Z',
    completedAt: '2026-01-01T00:00:01.000Z',
    method: 'GET',
    requestHeaders: [],
    rawRequestPath: null,
    requestBodyPath: null,
    status: 200,
    statusText: 'OK',
    httpVersion: '1.1',
    responseHeaders: [['Content-Type', 'text/html']],
    rawResponsePath: null,
    rawResponseSize: 0,
    bodyPath: null,
    bodySize: 0,
    truncated: false,
    remoteIp: '203.0.113.7',
    remotePort: 80,
    tls: null,
    dns: null,
    upstreamProxy: null,
    error: null,
    ...over,
  };
}
