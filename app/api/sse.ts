import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';

/**
 * Server-sent events by polling: `poll` is called every `intervalMs`; each value that differs from
 * the last one sent goes out as event `name`; the stream ends after `isDone` (with a `done` event),
 * when the client goes away, or after `maxMs`.
 */
export function pollingSse<T>(c: Context, opts: { name: string; intervalMs: number; maxMs?: number; poll: () => Promise<T>; isDone: (v: T) => boolean }): Response {
  return streamSSE(c, async (stream) => {
    let closed = false;
    stream.onAbort(() => {
      closed = true;
    });
    const deadline = Date.now() + (opts.maxMs ?? 30 * 60_000);
    let last = '';
    let id = 0;
    while (!closed && Date.now() < deadline) {
      const value = await opts.poll();
      const text = JSON.stringify(value);
      if (text !== last) {
        last = text;
        await stream.writeSSE({ event: opts.name, data: text, id: String(++id) });
      }
      if (opts.isDone(value)) {
        await stream.writeSSE({ event: 'done', data: text, id: String(++id) });
        break;
      }
      await stream.sleep(opts.intervalMs);
    }
  });
}
