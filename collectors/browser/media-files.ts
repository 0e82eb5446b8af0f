import { copyFile, constants as fsConstants } from 'node:fs/promises';
import * as path from 'node:path';
import type { SpoolFile } from '../../schemas/artifact.js';
import { contentCodings, encodedMediaType, isDecodeLimit } from './decode-body.js';
import { headerValue, wireUrl, type DomMediaRef, type MediaKind } from './page-facts.js';
import type { RecordedExchange } from './recorded-exchange.js';

/** A problem noticed while collecting, carried as a flag on an artifact. */
export interface Flag {
  code: string;
  message: string;
}

/** One media item to write: the recorded exchange holding its bytes. */
export interface PlannedMedia {
  url: string;
  kind: MediaKind;
  /** How it was found: a DOM source (`img`, `poster`, …) or `recorded` (seen only on the network). */
  via: string;
  exchange: RecordedExchange;
  mediaType: string;
  flags: Flag[];
}

export interface MediaPlan {
  items: PlannedMedia[];
  /** Media the page referenced that cannot be written, and why (flags for the capture record). */
  skipped: Flag[];
}

const EXTENSIONS: Record<string, string> = {
  'image/jpeg': 'jpg',
  'image/pjpeg': 'jpg',
  'image/png': 'png',
  'image/apng': 'png',
  'image/gif': 'gif',
  'image/webp': 'webp',
  'image/avif': 'avif',
  'image/svg+xml': 'svg',
  'image/bmp': 'bmp',
  'image/tiff': 'tif',
  'image/x-icon': 'ico',
  'image/vnd.microsoft.icon': 'ico',
  'image/heic': 'heic',
  'video/mp4': 'mp4',
  'video/webm': 'webm',
  'video/ogg': 'ogv',
  'video/quicktime': 'mov',
  'video/x-matroska': 'mkv',
  'video/mp2t': 'ts',
  'audio/mpeg': 'mp3',
  'audio/mp4': 'm4a',
  'audio/aac': 'aac',
  'audio/ogg': 'ogg',
  'audio/opus': 'opus',
  'audio/wav': 'wav',
  'audio/x-wav': 'wav',
  'audio/webm': 'weba',
  'audio/flac': 'flac',
};
const TYPE_BY_EXTENSION: Record<string, string> = Object.fromEntries(
  Object.entries({
    jpg: 'image/jpeg',
    jpeg: 'image/jpeg',
    png: 'image/png',
    gif: 'image/gif',
    webp: 'image/webp',
    avif: 'image/avif',
    svg: 'image/svg+xml',
    ico: 'image/x-icon',
    mp4: 'video/mp4',
    m4v: 'video/mp4',
    webm: 'video/webm',
    mov: 'video/quicktime',
    mp3: 'audio/mpeg',
    m4a: 'audio/mp4',
    ogg: 'audio/ogg',
    wav: 'audio/wav',
    flac: 'audio/flac',
  }),
);

/** The response's media type, lowercased without parameters, or null when it has none. */
export function contentTypeOf(ex: RecordedExchange): string | null {
  const raw = headerValue(ex.responseHeaders, 'content-type');
  if (!raw) return null;
  const type = raw.split(';')[0]!.trim().toLowerCase();
  return type === '' ? null : type;
}

function urlExtension(url: string): string | null {
  try {
    const m = /\.([A-Za-z0-9]{1,5})$/.exec(new URL(url).pathname);
    return m ? m[1]!.toLowerCase() : null;
  } catch {
    return null;
  }
}

/** Which media kind a type is, or null when it is not image/video/audio. */
export function mediaKindOf(type: string | null): MediaKind | null {
  if (!type) return null;
  if (type.startsWith('image/')) return 'image';
  if (type.startsWith('video/')) return 'video';
  if (type.startsWith('audio/')) return 'audio';
  return null;
}

/** File extension for a media type, falling back to the URL's own extension, then `bin`. */
export function extensionFor(mediaType: string, url: string): string {
  const known = EXTENSIONS[mediaType];
  if (known) return known;
  const sub = /^(?:image|video|audio)\/([a-z0-9]{1,5})$/.exec(mediaType);
  if (sub) return sub[1]!;
  return urlExtension(url) ?? 'bin';
}

/** `media/NNN-<safe stem>.<ext>`: the URL's last path segment reduced to `[a-z0-9_-]`, at most 48 characters. */
export function mediaFileName(index: number, url: string, ext: string): string {
  let segment = '';
  try {
    const parts = new URL(url).pathname.split('/').filter(Boolean);
    segment = parts[parts.length - 1] ?? '';
    try {
      segment = decodeURIComponent(segment);
    } catch {
      // keep it encoded
    }
  } catch {
    segment = '';
  }
  const stem = segment
    .replace(/\.[A-Za-z0-9]{1,5}$/, '')
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^[-_]+|[-_]+$/g, '')
    .slice(0, 48)
    .replace(/[-_]+$/, '');
  return `media/${String(index).padStart(3, '0')}-${stem || 'media'}.${ext}`;
}

/** Whether a 206 response carries the whole resource (`Content-Range: bytes 0-(n-1)/n`). */
export function isWholeRange(ex: RecordedExchange): boolean {
  const range = headerValue(ex.responseHeaders, 'content-range');
  const m = range ? /^bytes\s+0-(\d+)\/(\d+)$/i.exec(range.trim()) : null;
  return m !== null && Number(m[1]) + 1 === Number(m[2]);
}

type Pick = { ok: true; exchange: RecordedExchange; flags: Flag[] } | { ok: false; flag: Flag };

/** The best recorded response for a media URL: a complete 200, else a 206 holding everything, else a partial one (flagged). */
export function pickExchange(exchanges: readonly RecordedExchange[], url: string): Pick {
  const key = wireUrl(url);
  const matching = exchanges.filter((e) => e.method === 'GET' && wireUrl(e.url) === key);
  if (matching.length === 0) return { ok: false, flag: { code: 'media-not-recorded', message: `${url}: no response was recorded (never requested, or served without the network)` } };
  const rank = (e: RecordedExchange): number => {
    // Still arriving: its headers say 200, but its body is not all here yet.
    if (e.completedAt === null) return 4;
    if (e.status === 200 && !e.truncated && !e.error) return 0;
    if (e.status === 206 && !e.truncated && !e.error && isWholeRange(e)) return 1;
    if (e.status === 206 && !e.truncated && !e.error) return 2;
    if ((e.status === 200 || e.status === 206) && e.truncated) return 3;
    return 4;
  };
  const best = [...matching].sort((a, b) => rank(a) - rank(b))[0]!;
  switch (rank(best)) {
    case 0:
    case 1:
      return { ok: true, exchange: best, flags: [] };
    case 2:
      return { ok: true, exchange: best, flags: [{ code: 'partial-content', message: `only part of ${url} was served (${headerValue(best.responseHeaders, 'content-range') ?? 'no Content-Range'}); these are the bytes received` }] };
    case 3:
      return { ok: false, flag: { code: 'media-truncated', message: `${url}: not saved, the response was cut at ${best.rawResponseSize} bytes (${best.error?.message ?? 'size limit'}); the recorded prefix is in the WARC` } };
    default: {
      if (best.completedAt === null) return { ok: false, flag: { code: 'media-incomplete', message: `${url}: the response was still arriving` } };
      const why = best.error ? `${best.error.code}: ${best.error.message}` : `HTTP ${best.status ?? 'no response'}`;
      return { ok: false, flag: { code: best.error?.code === 'BLOCKED_ADDRESS' ? 'media-blocked' : 'media-failed', message: `${url}: not saved (${why})` } };
    }
  }
}

/**
 * Decide which media to write: everything the DOM shows (in document order), then any other
 * image/video/audio response the page loaded (CSS, preloads), deduplicated by URL. Inline `data:`
 * and `blob:` sources are not separate responses: they stay inside dom.html and the MHTML.
 */
export function planMedia(domRefs: readonly DomMediaRef[], exchanges: readonly RecordedExchange[]): MediaPlan {
  const items: PlannedMedia[] = [];
  const skipped: Flag[] = [];
  const seen = new Set<string>();
  let inline = 0;
  const consider = (url: string, kind: MediaKind | null, via: string): void => {
    if (url.startsWith('data:') || url.startsWith('blob:')) {
      inline += 1;
      return;
    }
    let key: string;
    try {
      const u = new URL(url);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') return;
      key = wireUrl(url);
    } catch {
      return;
    }
    if (seen.has(key)) return;
    seen.add(key);
    const pick = pickExchange(exchanges, url);
    if (!pick.ok) {
      skipped.push(pick.flag);
      return;
    }
    const declared = contentTypeOf(pick.exchange);
    let mediaType = declared;
    const flags = [...pick.flags];
    if (mediaKindOf(declared) === null) {
      const guessed = TYPE_BY_EXTENSION[urlExtension(url) ?? ''] ?? null;
      // A named type that is not media (an HTML error page behind an image URL) is not media, whatever the URL says.
      if (declared && !['application/octet-stream', 'binary/octet-stream'].includes(declared)) {
        skipped.push({ code: 'not-media', message: `${url}: referenced as ${kind ?? 'media'} but served as ${declared}; kept in the WARC only` });
        return;
      }
      const served = declared ?? 'no Content-Type';
      if (guessed) {
        mediaType = guessed;
        flags.push({ code: 'media-type-guessed', message: `served as ${served}; media type ${guessed} taken from the URL` });
      } else {
        mediaType = 'application/octet-stream';
        flags.push({ code: 'media-type-unknown', message: `served as ${served} with no telling extension; the browser showed it as ${kind ?? 'media'}` });
      }
    }
    if (!mediaType) return;
    items.push({ url, kind: mediaKindOf(mediaType) ?? kind ?? 'image', via, exchange: pick.exchange, mediaType, flags });
  };
  for (const ref of domRefs) consider(ref.url, ref.kind, ref.via);
  for (const ex of exchanges) {
    const kind = mediaKindOf(contentTypeOf(ex));
    if (kind && ex.status !== null && ex.status >= 200 && ex.status < 300) consider(ex.url, kind, 'recorded');
  }
  if (inline > 0) skipped.push({ code: 'inline-media', message: `${inline} inline data:/blob: media source(s) are part of dom.html and page.mhtml, not separate files` });
  return { items, skipped };
}

/** Source of decoded (Content-Encoding removed) bodies: the recording proxy. */
export interface BodySource {
  decodedBodyPath(ex: RecordedExchange): Promise<string | null>;
}

/**
 * Where one media item's bytes come from: the decoded body, or (when decoding would pass the size
 * limit) the body as served, still content-encoded, with a flag saying so. Null with a flag when
 * there is nothing to write.
 */
export async function mediaSource(ex: RecordedExchange, url: string, bodies: BodySource): Promise<{ path: string; encoded: { mediaType: string; ext: string } | null; flag: Flag | null } | { path: null; flag: Flag }> {
  try {
    const source = await bodies.decodedBodyPath(ex);
    if (source !== null) return { path: source, encoded: null, flag: null };
    const enc = headerValue(ex.responseHeaders, 'content-encoding');
    return { path: null, flag: { code: 'media-undecodable', message: `${url}: ${enc ? `unsupported Content-Encoding ${enc}` : 'no body recorded'}` } };
  } catch (err) {
    // A decompression bomb is recorded as served (bounded by the raw limit), never expanded.
    if (isDecodeLimit(err) && ex.bodyPath) {
      return { path: ex.bodyPath, encoded: encodedMediaType(ex), flag: { code: 'decode-limit', message: `${(err as Error).message}; kept as served, still Content-Encoding ${contentCodings(ex).join(', ')}` } };
    }
    return { path: null, flag: { code: 'media-undecodable', message: `${url}: ${(err as Error).message}` } };
  }
}

/** Copy each planned item's recorded bytes into `spoolDir/media/`. Failures become flags, not exceptions. */
export async function writeMediaFiles(plan: MediaPlan, bodies: BodySource, spoolDir: string): Promise<{ files: SpoolFile[]; skipped: Flag[] }> {
  const files: SpoolFile[] = [];
  const skipped = [...plan.skipped];
  let index = 0;
  for (const item of plan.items) {
    const source = await mediaSource(item.exchange, item.url, bodies);
    if (source.path === null) {
      skipped.push(source.flag);
      continue;
    }
    index += 1;
    const mediaType = source.encoded?.mediaType ?? item.mediaType;
    const name = mediaFileName(index, item.url, source.encoded?.ext ?? extensionFor(item.mediaType, item.url));
    await copyFile(source.path, path.join(spoolDir, name), fsConstants.COPYFILE_EXCL);
    files.push({ path: name, role: 'media', mediaType, sourceUrl: item.url, flags: source.flag ? [...item.flags, source.flag] : item.flags });
  }
  return { files, skipped };
}
