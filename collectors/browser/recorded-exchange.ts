import { z } from 'zod';
import { HttpHeader, TlsFacts } from '../../schemas/capture.js';
import { IsoUtc } from '../../schemas/common.js';
import { ErrorCode } from '../../schemas/errors.js';

/** DNS answers for one exchange's host, as the proxy saw them at request time. */
export const DnsFacts = z.object({
  host: z.string(),
  /** Every answer, in resolver order. */
  addresses: z.array(z.string()),
  error: z.string().nullable(),
});
export type DnsFacts = z.infer<typeof DnsFacts>;

/**
 * One request the browser made through the recording proxy, and what came back. Internal to
 * collectors: the WARC, page facts and media artifacts are built from these. Paths point into the
 * proxy's work directory.
 */
export const RecordedExchange = z.object({
  /** UUIDv7, also the stem of this exchange's files. */
  id: z.string(),
  startedAt: IsoUtc,
  /** Null while the exchange is still in flight. */
  completedAt: IsoUtc.nullable(),
  method: z.string(),
  /** Absolute URL the browser asked for (`ws:`/`wss:` for refused WebSocket upgrades). */
  url: z.string(),
  /** Request headers as sent upstream (hop-by-hop proxy headers removed, `Connection: close`), in order. */
  requestHeaders: z.array(HttpHeader),
  /** Exact bytes written to the upstream connection (request line, headers, body as framed); null if nothing was sent. */
  rawRequestPath: z.string().nullable(),
  /** Request body as the browser sent it (after transfer decoding); null when there was none. */
  requestBodyPath: z.string().nullable(),
  status: z.number().int().nullable(),
  statusText: z.string().nullable(),
  /** HTTP version of the upstream response, e.g. `1.1`. */
  httpVersion: z.string().nullable(),
  /** Response headers exactly as received (order and case kept). */
  responseHeaders: z.array(HttpHeader),
  /** Exact bytes received from upstream: status line, headers, body as transferred (chunked framing included). */
  rawResponsePath: z.string().nullable(),
  rawResponseSize: z.number().int(),
  /** Response body after transfer decoding, still content-encoded (gzip/br/…) as served. */
  bodyPath: z.string().nullable(),
  bodySize: z.number().int(),
  /** The response was cut short (size limit, abort, reset or timeout): the recorded bytes are a prefix. */
  truncated: z.boolean(),
  /** Address actually connected to (the upstream proxy's, when one is configured). */
  remoteIp: z.string().nullable(),
  remotePort: z.number().int().nullable(),
  tls: TlsFacts.nullable(),
  dns: DnsFacts.nullable(),
  /** Upstream proxy this exchange went through (credentials redacted), or null. */
  upstreamProxy: z.string().nullable(),
  /** Why the exchange failed or was refused; null when it completed normally. */
  error: z.object({ code: ErrorCode, message: z.string() }).nullable(),
});
export type RecordedExchange = z.infer<typeof RecordedExchange>;
