import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import type { Hono } from 'hono';
import type { ApiEnv } from './context.js';

/** The web app: hand-written ES modules, CSS and one HTML shell, served from memory. */
export const UI_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../ui/public');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/**
 * Third-party browser modules, served from node_modules under /ui/vendor/ (never from a CDN: the
 * strict CSP allows our own origin only, and the version is the one package-lock.json pins).
 */
const VENDOR: Record<string, { pkg: string; file: string }> = {
  'cytoscape.esm.mjs': { pkg: 'cytoscape', file: 'cytoscape.esm.min.mjs' },
};

function vendorFiles(): Map<string, { body: Buffer; type: string }> {
  const require = createRequire(import.meta.url);
  const out = new Map<string, { body: Buffer; type: string }>();
  for (const [name, v] of Object.entries(VENDOR)) {
    // The package's main file sits in its dist folder, next to the browser build (its exports map does not list that one).
    const dist = path.dirname(require.resolve(v.pkg));
    out.set(name, { body: readFileSync(path.join(dist, v.file)), type: 'text/javascript; charset=utf-8' });
  }
  return out;
}

export function mountUi(app: Hono<ApiEnv>): void {
  const files = new Map<string, { body: Buffer; type: string }>();
  for (const name of readdirSync(UI_DIR)) {
    const type = TYPES[path.extname(name)];
    if (type && /^[a-z0-9-]+\.[a-z]+$/.test(name)) files.set(name, { body: readFileSync(path.join(UI_DIR, name)), type });
  }
  const vendor = vendorFiles();
  const send = (name: string, from = files) => {
    const f = from.get(name);
    if (!f) return new Response('not found', { status: 404, headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
    return new Response(new Uint8Array(f.body), { headers: { 'Content-Type': f.type, 'Cache-Control': 'no-cache' } });
  };
  app.get('/', (c) => c.redirect('/ui/', 302));
  app.get('/ui', (c) => c.redirect('/ui/', 302));
  app.get('/ui/', () => send('index.html'));
  app.get('/ui/vendor/:file', (c) => send(c.req.param('file'), vendor));
  app.get('/ui/:file', (c) => send(c.req.param('file')));
}
