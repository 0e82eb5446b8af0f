/**
 * The offline viewer in a package: `data/replay/` holds ReplayWeb.page's static files and one page
 * per capture that replays the capture's archive from `data/captures/` (the sealed bytes, not a
 * copy). Served on loopback (`python3 -m http.server`), it needs nothing of ours; its files are bag
 * files like any other, so the BagIt manifests and the package seal cover them.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { htmlEscape, REPLAY_VIEWER_FILES, REPLAYWEBPAGE_DIR, replayArchive, replayViewerHtml } from '../replay.js';
import { inMemory, type CaptureBundle } from './captures.js';
import { bagPaths } from './layout.js';
import type { PayloadEntry } from './payload-zip.js';

/** ReplayWeb.page's version, from its package.json (named in the folder's notice). */
function viewerVersion(): string {
  try {
    return (JSON.parse(readFileSync(path.join(REPLAYWEBPAGE_DIR, 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

const rel = (fromDir: string, to: string) => path.posix.relative(fromDir, to).split('/').map(encodeURIComponent).join('/');

/** Bag files of the offline viewer: index, one page per capture with an archive, ReplayWeb.page's files and licence. */
export function replayFolderEntries(captures: CaptureBundle[]): PayloadEntry[] {
  const dir = path.posix.dirname(bagPaths.replayIndex);
  const items: string[] = [];
  const entries: PayloadEntry[] = [];
  for (const c of captures) {
    const a = replayArchive(c.manifest.artifacts);
    const title = c.manifest.page.title || c.manifest.request.url;
    if (!a) {
      items.push(`<li>${htmlEscape(title)} <code>${c.captureId}</code> — recorded no web archive</li>`);
      continue;
    }
    const page = bagPaths.replayPage(c.captureId);
    const pageUrl = c.manifest.page.finalUrl ?? c.manifest.request.url;
    entries.push(
      inMemory(
        page,
        Buffer.from(replayViewerHtml({ archiveUrl: rel(dir, bagPaths.artifact(c.captureId, a)), pageUrl, scriptUrl: 'rwp/ui.js', replayBase: 'rwp/', title: `Replay of capture ${c.captureId}`, eager: true })),
      ),
    );
    items.push(`<li><a href="${htmlEscape(path.posix.basename(page))}">${htmlEscape(title)}</a> <code>${c.captureId}</code> — ${htmlEscape(pageUrl)}, from ${htmlEscape(a.name)} (${htmlEscape(a.sha256)})</li>`);
  }
  const index = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Replay of the captures in this package</title></head>
<body>
<h1>Replay of the captures in this package</h1>
<p>Each page replays a capture's web archive, as recorded, with ReplayWeb.page ${htmlEscape(viewerVersion())} (files in rwp/, licence rwp/LICENSE). Serve this folder's parent on loopback, as data/VERIFY.txt says; service workers need http://127.0.0.1 or http://localhost.</p>
<ul>
${items.join('\n')}
</ul>
</body>
</html>
`;
  entries.push(inMemory(bagPaths.replayIndex, Buffer.from(index)));
  for (const f of REPLAY_VIEWER_FILES) entries.push(inMemory(`${dir}/rwp/${f}`, readFileSync(path.join(REPLAYWEBPAGE_DIR, f))));
  entries.push(inMemory(`${dir}/rwp/LICENSE`, readFileSync(path.join(REPLAYWEBPAGE_DIR, 'LICENSE'))));
  return entries;
}
