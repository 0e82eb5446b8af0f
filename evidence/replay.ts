/**
 * Replay of captures in ReplayWeb.page (npm `replaywebpage`, its prebuilt viewer): which archive a
 * capture is replayed from, and the viewer page. Used by the replay origin of `exhibit serve` and by
 * the offline viewer folder in packages.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Artifact } from '../schemas/artifact.js';

/** Archives ReplayWeb.page opens, in order of preference: the signed WACZ, else the raw WARC as recorded. */
export const REPLAY_ROLES = ['wacz', 'warc'] as const;

/** The archive a capture is replayed from, or null when it recorded none. */
export function replayArchive(artifacts: readonly Artifact[]): Artifact | null {
  for (const role of REPLAY_ROLES) {
    const a = artifacts.find((x) => (x.role as string) === role);
    if (a) return a;
  }
  return null;
}

/** Where ReplayWeb.page's prebuilt viewer (ui.js), service worker (sw.js) and licence are installed. */
export const REPLAYWEBPAGE_DIR = path.dirname(createRequire(import.meta.url).resolve('replaywebpage/index.html'));
/** The viewer's files: the web component and the service worker that replays from the archive. */
export const REPLAY_VIEWER_FILES = ['ui.js', 'sw.js'] as const;

/** `<`, `>`, `&`, `"` and `'` as entities, for text and attribute values of the viewer pages. */
export const htmlEscape = (v: string) => v.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/**
 * The viewer page for one capture: ReplayWeb.page's `<replay-web-page>` element over the archive,
 * opened at the captured page, showing the replay only. No inline script: the page works under a
 * `script-src 'self'` policy. `eager` loads the whole archive at once: ReplayWeb.page reads a WACZ
 * with range requests, which simple static servers (Python's http.server) do not answer.
 */
export function replayViewerHtml(o: { archiveUrl: string; pageUrl: string; scriptUrl: string; replayBase: string; title: string; eager?: boolean }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${htmlEscape(o.title)}</title>
<script src="${htmlEscape(o.scriptUrl)}"></script>
<style>html, body { margin: 0; height: 100%; } replay-web-page { display: block; height: 100vh; }</style>
</head>
<body>
<replay-web-page source="${htmlEscape(o.archiveUrl)}" url="${htmlEscape(o.pageUrl)}" replaybase="${htmlEscape(o.replayBase)}" embed="replayonly"${o.eager ? ' loading="eager"' : ''}></replay-web-page>
</body>
</html>
`;
}
