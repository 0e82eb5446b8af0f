import type { Context, MiddlewareHandler } from 'hono';
import type { ApiEnv } from './context.js';
import { HttpError } from './errors.js';

export const tooLarge = (limit: number) => new HttpError(413, 'PAYLOAD_TOO_LARGE', `request body larger than the ${limit}-byte limit of this route`);

/**
 * The request body limit, enforced while the body streams in: a declared Content-Length over the
 * limit is refused before a byte is read, and a chunked body is counted as it is read and fails at
 * the first byte past the limit, so no route ever buffers more than its limit. The source stream is
 * left alone when the limit trips (cancelling it would tear down the socket before the 413 is sent);
 * the 413 carries `Connection: close` (see errors.ts), so Node stops reading once it is sent.
 *
 * hono's own `bodyLimit` middleware is not used: it reads the whole body into memory up to the
 * limit before the route runs, which for the package upload (limit in GiB) is the very thing to avoid.
 */
export function streamingBodyLimit(limitFor: (c: Context<ApiEnv>) => number): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const limit = limitFor(c);
    const declared = c.req.header('content-length');
    if (declared !== undefined && !(Number(declared) <= limit)) throw tooLarge(limit);
    const body = c.req.raw.body;
    if (body) {
      let seen = 0;
      const counter = new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          seen += chunk.byteLength;
          if (seen > limit) controller.error(tooLarge(limit));
          else controller.enqueue(chunk);
        },
      });
      const guarded = body.pipeThrough(counter, { preventCancel: true });
      c.req.raw = new Request(c.req.raw, { body: guarded, duplex: 'half' } as RequestInit);
    }
    return next();
  };
}
