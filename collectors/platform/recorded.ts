import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { PostSource } from '../../schemas/post.js';
import { headerValue, traceMainDocument, wireUrl } from '../browser/page-facts.js';
import { mediaSource } from '../browser/media-files.js';
import type { RecordedExchange } from '../browser/recorded-exchange.js';

/** Where recorded bodies come from: the recording proxy (live) or the finished capture. */
export interface BodyReader {
  decodedBodyPath(ex: RecordedExchange): Promise<string | null>;
}

/** A URL matcher: exact URL, a RegExp on the URL, or a predicate. */
export type UrlMatch = string | RegExp | ((url: URL, ex: RecordedExchange) => boolean);

/**
 * Read-only view over the recorded exchanges of one capture: the only way extractors read platform
 * data, so everything they use is in the WARC. Every body read is remembered with its digest
 * (`readFrom` in post.json), so a reviewer can find the exact response an extraction used.
 */
export class RecordedView {
  private readonly reads = new Map<string, { url: string; sha256: string; source: PostSource }>();

  constructor(
    readonly exchanges: readonly RecordedExchange[],
    private readonly bodies_: BodyReader,
    /** The URL the browser was sent to (the main document's first request). */
    readonly pageUrl: string,
    /** Spool directory, for artifacts the capture wrote (dom.html). */
    private readonly spoolDir: string | null = null,
  ) {}

  /** Completed GET exchanges whose URL matches, in the order they were made. */
  all(match: UrlMatch, opts: { method?: string } = {}): RecordedExchange[] {
    return this.exchanges.filter((ex) => {
      if (ex.method !== (opts.method ?? 'GET') || ex.completedAt === null) return false;
      if (typeof match === 'string') return wireUrl(ex.url) === wireUrl(match);
      if (match instanceof RegExp) return match.test(ex.url);
      try {
        return match(new URL(ex.url), ex);
      } catch {
        return false;
      }
    });
  }

  /** The last matching exchange that got an HTTP answer (the freshest reading), or null. */
  last(match: UrlMatch): RecordedExchange | null {
    const found = this.all(match).filter((ex) => ex.status !== null);
    return found[found.length - 1] ?? null;
  }

  /** The main document's final exchange (after redirects), or null when none was recorded. */
  mainDocument(): RecordedExchange | null {
    return traceMainDocument(this.exchanges, this.pageUrl).final;
  }

  /** Path of an exchange's decoded body (no digest recorded: for copying bytes into artifacts). */
  bodies(ex: RecordedExchange): Promise<string | null> {
    return this.bodies_.decodedBodyPath(ex).catch(() => null);
  }

  /**
   * Where a media item's bytes come from: the decoded body, or the body as served (flagged) when
   * decoding would pass the size limit. See {@link mediaSource}.
   */
  mediaSource(ex: RecordedExchange, url: string): ReturnType<typeof mediaSource> {
    return mediaSource(ex, url, this.bodies_);
  }

  /** Decoded body bytes of an exchange, or null when none was recorded or it is truncated. */
  async bytes(ex: RecordedExchange, source: PostSource): Promise<Buffer | null> {
    if (ex.truncated) return null;
    const p = await this.bodies(ex);
    if (p === null) return null;
    const buf = await readFile(p);
    this.reads.set(`${ex.id}`, { url: ex.url, sha256: `sha256:${createHash('sha256').update(buf).digest('hex')}`, source });
    return buf;
  }

  async text(ex: RecordedExchange, source: PostSource): Promise<string | null> {
    const b = await this.bytes(ex, source);
    return b === null ? null : b.toString('utf8');
  }

  /** The body parsed as JSON, or null when absent or not JSON. */
  async json<T = unknown>(ex: RecordedExchange, source: PostSource = 'api-json'): Promise<T | null> {
    const t = await this.text(ex, source);
    if (t === null) return null;
    try {
      return JSON.parse(t) as T;
    } catch {
      return null;
    }
  }

  /** The HTML as the server sent it (main document), or null. */
  async servedHtml(source: PostSource = 'dom'): Promise<string | null> {
    const main = this.mainDocument();
    return main ? this.text(main, source) : null;
  }

  /** The DOM as rendered (the capture's dom.html artifact), or null when it was not written. */
  async renderedHtml(): Promise<string | null> {
    if (!this.spoolDir) return null;
    try {
      return await readFile(path.join(this.spoolDir, 'dom.html'), 'utf8');
    } catch {
      return null;
    }
  }

  /** Every body read so far, for post.json `readFrom`. */
  readFrom(): Array<{ url: string; sha256: string; source: PostSource }> {
    return [...this.reads.values()];
  }
}

/** Content type of a response without parameters, lowercased. */
export function responseType(ex: RecordedExchange): string | null {
  const v = headerValue(ex.responseHeaders, 'content-type');
  return v ? v.split(';')[0]!.trim().toLowerCase() : null;
}
