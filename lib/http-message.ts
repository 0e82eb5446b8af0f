/**
 * Reading raw HTTP/1.x messages as recorded in WARC blocks: where the header block ends, whether the
 * body is `Transfer-Encoding: chunked`, and the body with that transfer coding removed (the WARC 1.1
 * "payload", §6.3.2). One implementation for the WARC writer and the WARC checker, so what one
 * digests is what the other recomputes.
 */

/**
 * Offset where the payload starts in an HTTP message: after the first empty line, lines ending in
 * LF or CRLF (as warcio's header parser reads them). Null when there is no complete header block.
 */
export function httpHeaderEnd(head: Uint8Array): number | null {
  let lineStart = 0;
  for (let i = 0; i < head.length; i++) {
    if (head[i] !== 0x0a) continue;
    const len = i - lineStart;
    if (len === 0 || (len === 1 && head[lineStart] === 0x0d)) return i + 1;
    lineStart = i + 1;
  }
  return null;
}

/** Whether a header block (status or request line included) names `chunked` as the last transfer coding. */
export function isChunked(headerBlock: Uint8Array): boolean {
  const lines = Buffer.from(headerBlock.buffer, headerBlock.byteOffset, headerBlock.byteLength).toString('latin1').split(/\r?\n/);
  const codings = lines
    .slice(1)
    .filter((l) => /^transfer-encoding\s*:/i.test(l))
    .flatMap((l) => l.slice(l.indexOf(':') + 1).split(','))
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t !== '');
  // RFC 9112 §6.1: chunked, when present, is the final coding applied.
  return codings.at(-1) === 'chunked';
}

/** Outcome of {@link dechunk}, filled in as the stream is consumed. */
export interface DechunkState {
  /** The terminating zero-size chunk was read. */
  complete: boolean;
  /** Framing was broken at some point; the bytes from there on were passed through as they are. */
  malformed: boolean;
}

/** A chunk-size line longer than this is not one (extensions included). */
const MAX_SIZE_LINE = 4096;

/**
 * The body of a chunked message with the framing removed, streamed: chunk data is passed through as
 * it arrives, never buffered whole. A body that ends early yields what it had (a truncated payload
 * ends where the block ends). Broken framing stops decoding: the rest is passed through unchanged
 * and `state.malformed` is set — a first size line that does not parse means the body was never
 * chunked, as lenient readers (warcio) treat it. Trailer fields are not payload.
 */
export async function* dechunk(source: AsyncIterable<Uint8Array>, state: DechunkState = { complete: false, malformed: false }): AsyncGenerator<Uint8Array> {
  let mode: 'size' | 'data' | 'data-crlf' | 'trailer' | 'raw' | 'done' = 'size';
  let line: number[] = [];
  let remaining = 0;
  let crlfSeen = 0;
  let first = true;
  for await (const input of source) {
    let i = 0;
    while (i < input.length) {
      if (mode === 'done') return;
      if (mode === 'raw') {
        yield input.subarray(i);
        break;
      }
      if (mode === 'data') {
        const take = Math.min(remaining, input.length - i);
        yield input.subarray(i, i + take);
        remaining -= take;
        i += take;
        if (remaining === 0) {
          mode = 'data-crlf';
          crlfSeen = 0;
        }
        continue;
      }
      const b = input[i]!;
      if (mode === 'data-crlf') {
        // CRLF after chunk data (a bare LF accepted, as lenient parsers do)
        if (b === 0x0d && crlfSeen === 0) {
          crlfSeen = 1;
          i++;
        } else if (b === 0x0a) {
          mode = 'size';
          i++;
        } else {
          state.malformed = true;
          mode = 'raw';
        }
        continue;
      }
      // 'size' and 'trailer' read lines
      if (b !== 0x0a) {
        line.push(b);
        i++;
        if (line.length > MAX_SIZE_LINE) {
          state.malformed = true;
          if (mode === 'trailer') return;
          yield Uint8Array.from(line);
          line = [];
          mode = 'raw';
        }
        continue;
      }
      i++;
      const text = Buffer.from(line).toString('latin1').replace(/\r$/, '');
      if (mode === 'trailer') {
        line = [];
        if (text === '') {
          state.complete = true;
          mode = 'done';
        }
        continue;
      }
      const m = /^([0-9a-fA-F]+)[ \t]*(;.*)?$/.exec(text);
      if (!m || m[1]!.length > 12) {
        state.malformed = true;
        // not chunked at all (first line), or framing broken later: the rest goes through as is
        yield Uint8Array.from([...line, 0x0a]);
        line = [];
        mode = 'raw';
        continue;
      }
      line = [];
      first = false;
      remaining = parseInt(m[1]!, 16);
      mode = remaining === 0 ? 'trailer' : 'data';
    }
  }
  if (mode === 'size' && line.length > 0 && first) {
    // a body with no line end at all was never chunked
    state.malformed = true;
    yield Uint8Array.from(line);
  }
}
