import { copyFile, constants as fsConstants, mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import type { SpoolFile } from '../../schemas/artifact.js';
import type { PostMedia } from '../../schemas/post.js';
import { contentTypeOf, extensionFor, mediaFileName, pickExchange, type Flag } from '../browser/media-files.js';
import { wireUrl } from '../browser/page-facts.js';
import type { RecordedExchange } from '../browser/recorded-exchange.js';
import type { RecordedView } from './recorded.js';

/**
 * Links a post's media to artifacts: the file the web capture already wrote for that URL, else the
 * recorded response copied into `media/` now. Media that was never recorded gets a flag, not a
 * silent gap; nothing is downloaded here.
 */
export class MediaLinker {
  constructor(
    private readonly view: RecordedView,
    private readonly spoolDir: string,
    /** The capture's file list; written files are appended. */
    readonly files: SpoolFile[],
  ) {}

  private nextIndex(): number {
    let max = 0;
    for (const f of this.files) {
      const m = /^media\/(\d+)-/.exec(f.path);
      if (m) max = Math.max(max, Number(m[1]));
    }
    return max + 1;
  }

  /** The spool file already holding this URL's bytes, if any. */
  existing(url: string): SpoolFile | null {
    const key = wireUrl(url);
    return this.files.find((f) => f.role === 'media' && f.sourceUrl !== null && wireUrl(f.sourceUrl) === key && !f.derivedFrom) ?? null;
  }

  /**
   * Copy a recorded response's decoded body into `media/NNN-<stem><suffix>.<ext>`; a body whose
   * decoded form would pass the size limit is copied as served, with a `decode-limit` flag.
   */
  async write(ex: RecordedExchange, mediaType: string, url: string, flags: Flag[] = [], suffix = ''): Promise<SpoolFile | null> {
    const src = await this.view.mediaSource(ex, url);
    if (src.path === null) return null;
    const base = mediaFileName(this.nextIndex(), url, src.encoded?.ext ?? extensionFor(mediaType, url));
    const name = suffix ? base.replace(/(\.[a-z0-9]+)$/, `${suffix}$1`) : base;
    await mkdir(path.join(this.spoolDir, 'media'), { recursive: true });
    await copyFile(src.path, path.join(this.spoolDir, name), fsConstants.COPYFILE_EXCL);
    const file: SpoolFile = { path: name, role: 'media', mediaType: src.encoded?.mediaType ?? mediaType, sourceUrl: url, flags: src.flag ? [...flags, src.flag] : flags };
    this.files.push(file);
    return file;
  }

  /** The artifact for one media URL (existing or written now), or a flag saying why there is none. */
  async artifactFor(url: string): Promise<{ path: string | null; flags: Flag[] }> {
    const have = this.existing(url);
    // A body kept still encoded says so in the post's facts too, not only on the artifact.
    if (have) return { path: have.path, flags: have.flags.filter((f) => f.code === 'decode-limit') };
    const pick = pickExchange(this.view.exchanges, url);
    if (!pick.ok) return { path: null, flags: [pick.flag] };
    const type = contentTypeOf(pick.exchange) ?? 'application/octet-stream';
    const file = await this.write(pick.exchange, type, url, pick.flags);
    return file ? { path: file.path, flags: [...file.flags] } : { path: null, flags: [{ code: 'media-undecodable', message: `${url}: the recorded body could not be decoded` }] };
  }

  /** Fill `artifact` (and flags) of each media item from what was recorded. */
  async link(media: PostMedia[]): Promise<PostMedia[]> {
    const out: PostMedia[] = [];
    for (const m of media) {
      if (m.sourceUrl === null || m.artifact !== null) {
        out.push(m);
        continue;
      }
      const r = await this.artifactFor(m.sourceUrl);
      out.push({ ...m, artifact: r.path, flags: [...m.flags, ...r.flags] });
    }
    return out;
  }
}
