import { execFile } from 'node:child_process';
import { copyFile, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { SpoolFile } from '../../schemas/artifact.js';
import { mediaFileName, pickExchange, type Flag } from '../browser/media-files.js';
import type { MediaLinker } from './media.js';
import type { RecordedView } from './recorded.js';

const run = promisify(execFile);

export type Playlist =
  | { kind: 'master'; variants: Array<{ url: string; bandwidth: number | null; resolution: string | null }> }
  | { kind: 'media'; segments: Array<{ url: string; duration: number | null }>; map: string | null; encrypted: boolean; ended: boolean };

/** Parse an HLS playlist (RFC 8216); URIs are resolved against the playlist's own URL. */
export function parseM3u8(text: string, baseUrl: string): Playlist {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  if (lines[0] !== '#EXTM3U') throw new Error('not an HLS playlist (no #EXTM3U)');
  const attr = (line: string, name: string): string | null => {
    const m = new RegExp(`(?:^|[:,])${name}=("([^"]*)"|[^,]*)`).exec(line);
    return m ? (m[2] ?? m[1]!) : null;
  };
  const abs = (u: string): string => new URL(u, baseUrl).href;
  if (lines.some((l) => l.startsWith('#EXT-X-STREAM-INF'))) {
    const variants: Array<{ url: string; bandwidth: number | null; resolution: string | null }> = [];
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i]!;
      if (!l.startsWith('#EXT-X-STREAM-INF')) continue;
      const uri = lines.slice(i + 1).find((x) => x !== '' && !x.startsWith('#'));
      if (!uri) continue;
      const bw = attr(l, 'BANDWIDTH');
      variants.push({ url: abs(uri), bandwidth: bw ? Number(bw) : null, resolution: attr(l, 'RESOLUTION') });
    }
    return { kind: 'master', variants };
  }
  const segments: Array<{ url: string; duration: number | null }> = [];
  let duration: number | null = null;
  let map: string | null = null;
  let encrypted = false;
  for (const l of lines) {
    if (l.startsWith('#EXTINF:')) duration = Number.parseFloat(l.slice(8));
    else if (l.startsWith('#EXT-X-MAP')) {
      const u = attr(l, 'URI');
      map = u ? abs(u) : null;
    } else if (l.startsWith('#EXT-X-KEY') && attr(l, 'METHOD') !== 'NONE') encrypted = true;
    else if (l !== '' && !l.startsWith('#')) {
      segments.push({ url: abs(l), duration: Number.isFinite(duration) ? duration : null });
      duration = null;
    }
  }
  return { kind: 'media', segments, map, encrypted, ended: lines.includes('#EXT-X-ENDLIST') };
}

let ffmpegVersion: Promise<string> | null = null;
/** `ffmpeg 5.1.9-0+deb12u1`, from `ffmpeg -version`. */
export function ffmpegVersionOf(ffmpeg = 'ffmpeg'): Promise<string> {
  ffmpegVersion ??= run(ffmpeg, ['-hide_banner', '-version']).then(
    (r) => /^ffmpeg version (\S+)/.exec(r.stdout)?.[1] ?? 'unknown',
    () => 'unknown',
  );
  return ffmpegVersion;
}

export interface HlsResult {
  /** Spool paths of the playlists kept (master first, then the media playlist used). */
  playlists: string[];
  /** Spool path of the assembled MP4, or null with flags saying why. */
  assembled: string | null;
  durationSeconds: number | null;
  flags: Flag[];
}

/**
 * Keep the recorded playlists of an HLS stream as media artifacts and, when every segment of the
 * best recorded variant is in the recording, assemble a playable MP4 from those recorded bytes with
 * ffmpeg (stream copy, no re-encoding, nothing re-downloaded: ffmpeg reads a local playlist that
 * points at the recorded segment files). The MP4 is marked derived from the media playlist, with
 * the exact command line.
 */
export async function assembleHls(opts: {
  view: RecordedView;
  linker: MediaLinker;
  playlistUrl: string;
  spoolDir: string;
  workDir: string;
  /** Largest assembled file: the segments together and ffmpeg's output stop here (capture.maxResourceBytes). */
  maxBytes: number;
  ffmpegPath?: string;
}): Promise<HlsResult> {
  const { view, linker } = opts;
  const flags: Flag[] = [];
  const playlists: string[] = [];
  const keep = async (url: string): Promise<{ text: string; spool: string } | null> => {
    const pick = pickExchange(view.exchanges, url);
    if (!pick.ok) {
      flags.push(pick.flag);
      return null;
    }
    const text = await view.text(pick.exchange, 'api-json');
    if (text === null) {
      flags.push({ code: 'hls-playlist-unreadable', message: `${url}: the recorded playlist could not be read` });
      return null;
    }
    const existing = linker.existing(url);
    const spool = existing ?? (await linker.write(pick.exchange, 'application/vnd.apple.mpegurl', url));
    if (!spool) return null;
    playlists.push(spool.path);
    return { text, spool: spool.path };
  };

  const top = await keep(opts.playlistUrl);
  if (!top) return { playlists, assembled: null, durationSeconds: null, flags };
  let media: Extract<Playlist, { kind: 'media' }>;
  let mediaUrl = opts.playlistUrl;
  let mediaSpool = top.spool;
  try {
    const parsed = parseM3u8(top.text, opts.playlistUrl);
    if (parsed.kind === 'master') {
      // The best variant the player actually loaded: highest bandwidth among those recorded.
      const recorded = parsed.variants.filter((v) => pickExchange(view.exchanges, v.url).ok).sort((a, b) => (b.bandwidth ?? 0) - (a.bandwidth ?? 0));
      const best = recorded[0];
      if (!best) {
        flags.push({ code: 'hls-incomplete', message: `${opts.playlistUrl}: none of its ${parsed.variants.length} variant playlists was recorded` });
        return { playlists, assembled: null, durationSeconds: null, flags };
      }
      const v = await keep(best.url);
      if (!v) return { playlists, assembled: null, durationSeconds: null, flags };
      const vp = parseM3u8(v.text, best.url);
      if (vp.kind !== 'media') throw new Error('variant playlist is itself a master playlist');
      media = vp;
      mediaUrl = best.url;
      mediaSpool = v.spool;
    } else media = parsed;
  } catch (err) {
    flags.push({ code: 'hls-unparseable', message: `${opts.playlistUrl}: ${(err as Error).message}` });
    return { playlists, assembled: null, durationSeconds: null, flags };
  }

  const duration = media.segments.every((s) => s.duration !== null) ? Math.round(media.segments.reduce((n, s) => n + s.duration!, 0) * 1000) / 1000 : null;
  if (media.encrypted) {
    flags.push({ code: 'hls-encrypted', message: `${mediaUrl}: segments are encrypted (EXT-X-KEY); the recorded segments are in the WARC, no playable file was assembled` });
    return { playlists, assembled: null, durationSeconds: duration, flags };
  }
  const dir = path.join(opts.workDir, `hls-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`);
  await mkdir(dir, { recursive: true });
  try {
    const lines = ['#EXTM3U', '#EXT-X-VERSION:7', '#EXT-X-PLAYLIST-TYPE:VOD', `#EXT-X-TARGETDURATION:${Math.ceil(Math.max(1, ...media.segments.map((s) => s.duration ?? 1)))}`];
    const missing: string[] = [];
    let total = 0;
    let overLimit = false;
    const localCopy = async (url: string, name: string): Promise<boolean> => {
      const pick = pickExchange(view.exchanges, url);
      const src = pick.ok && pick.flags.length === 0 ? await view.bodies(pick.exchange) : null;
      if (src === null) {
        missing.push(url);
        return false;
      }
      // Bounded before anything is copied: many small segments can add up past the limit.
      total += (await stat(src)).size;
      if (total > opts.maxBytes) {
        overLimit = true;
        return false;
      }
      await copyFile(src, path.join(dir, name));
      return true;
    };
    if (media.map && (await localCopy(media.map, 'init.mp4'))) lines.push('#EXT-X-MAP:URI="init.mp4"');
    for (const [i, seg] of media.segments.entries()) {
      if (overLimit) break;
      const ext = /\.(m4s|mp4|aac|ts)$/i.exec(new URL(seg.url).pathname)?.[1]?.toLowerCase() ?? 'ts';
      const name = `seg-${String(i).padStart(5, '0')}.${ext}`;
      if (await localCopy(seg.url, name)) lines.push(`#EXTINF:${seg.duration ?? 1},`, name);
    }
    lines.push('#EXT-X-ENDLIST', '');
    if (overLimit) {
      flags.push({ code: 'hls-too-large', message: `${mediaUrl}: the recorded segments add up to more than ${opts.maxBytes} bytes (capture.maxResourceBytes); they are in the WARC, no playable file was assembled` });
      return { playlists, assembled: null, durationSeconds: duration, flags };
    }
    if (missing.length > 0 || media.segments.length === 0) {
      flags.push({ code: 'hls-incomplete', message: `${mediaUrl}: ${missing.length} of ${media.segments.length} segment(s) were not recorded in full (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''}); no playable file was assembled` });
      return { playlists, assembled: null, durationSeconds: duration, flags };
    }
    await writeFile(path.join(dir, 'local.m3u8'), lines.join('\n'));
    const ffmpeg = opts.ffmpegPath ?? 'ffmpeg';
    const outName = mediaFileName(Number(/^media\/(\d+)-/.exec(mediaSpool)?.[1] ?? 0), mediaUrl, 'mp4').replace(/\.mp4$/, '-assembled.mp4');
    const args = ['-hide_banner', '-loglevel', 'error', '-nostdin', '-protocol_whitelist', 'file', '-allowed_extensions', 'ALL', '-i', 'local.m3u8', '-map', '0', '-c', 'copy', '-bsf:a', 'aac_adtstoasc', '-movflags', '+faststart', '-fs', String(opts.maxBytes), '-f', 'mp4', 'assembled.mp4'];
    try {
      await run(ffmpeg, args, { cwd: dir, timeout: 120_000 });
    } catch (err) {
      flags.push({ code: 'hls-assemble-failed', message: `ffmpeg could not assemble ${mediaUrl}: ${((err as { stderr?: string }).stderr || (err as Error).message).trim().split('\n')[0]}` });
      return { playlists, assembled: null, durationSeconds: duration, flags };
    }
    if ((await stat(path.join(dir, 'assembled.mp4'))).size >= opts.maxBytes) {
      flags.push({ code: 'hls-too-large', message: `ffmpeg's output for ${mediaUrl} reached the limit of ${opts.maxBytes} bytes (capture.maxResourceBytes); no playable file was kept` });
      return { playlists, assembled: null, durationSeconds: duration, flags };
    }
    await copyFile(path.join(dir, 'assembled.mp4'), path.join(opts.spoolDir, outName));
    const command = `${ffmpeg} ${args.join(' ')} (local.m3u8 lists the ${media.segments.length} recorded segment bodies of ${mediaUrl} in order)`;
    const file: SpoolFile = {
      path: outName,
      role: 'media',
      mediaType: 'video/mp4',
      sourceUrl: null,
      flags: [{ code: 'ASSEMBLED', message: command }],
      derivedFrom: { source: mediaSpool, method: 'hls-assemble', tool: `ffmpeg ${await ffmpegVersionOf(ffmpeg)}: ${command}` },
    };
    linker.files.push(file);
    return { playlists, assembled: outName, durationSeconds: duration, flags };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
