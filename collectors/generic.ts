import { z } from 'zod';
import { fetchActivityPub, readActivityPub } from './platform/activitypub-object.js';
import { definePlatformCollector, type PlatformSpec } from './platform/capture-platform-page.js';
import { extractGenericPost, oembedHref } from './platform/generic-extract.js';
import { signal, visible } from './platform/honest-state.js';

/**
 * The generic fallback: any http(s) page, asked after the platform collectors and before `web`.
 * It captures exactly what `web` does and, when the served page describes a post or article through
 * oEmbed (discovered via `<link rel="alternate" type="application/json+oembed">`), OpenGraph or
 * JSON-LD, also writes post.json (platform/generic-extract.ts). A page with none of these gets no
 * post.json.
 *
 * A page that advertises an ActivityPub representation (`<link rel="alternate"
 * type="application/activity+json">`, or a `Link` header of that meaning) is a fediverse object on a
 * server no platform collector knows: the object and its author's actor document are fetched through
 * the recording context and read first (post.json `platform: activitypub`). Pages without the link
 * cost nothing more: the served HTML is parsed here anyway.
 */

export const GenericOptions = z.object({
  /** Fetch the oEmbed document the page advertises (recorded like the page's own requests). @defaultValue true */
  oembed: z.boolean().default(true),
  /** Fetch and read the ActivityPub object a page advertises (`link rel=alternate type=application/activity+json`). @defaultValue true */
  activityPub: z.boolean().default(true),
});
export type GenericOptions = z.infer<typeof GenericOptions>;

export const genericSpec: PlatformSpec<GenericOptions> = {
  id: 'generic',
  version: '1.0.0',
  platform: 'generic',
  capabilities: ['page', 'screenshot', 'warc', 'mhtml', 'media', 'post'],
  configSchema: GenericOptions,
  matches: (url) => url.protocol === 'http:' || url.protocol === 'https:',
  async onPage(page, target, o) {
    if (o.activityPub) await fetchActivityPub(page, target, { negotiate: false, actor: true });
    if (!o.oembed) return;
    const html = await page.view().servedHtml();
    const href = html ? oembedHref(html, page.view().pageUrl) : null;
    if (href) await page.fetch(href, { purpose: 'oEmbed document the page advertises (link rel=alternate type=application/json+oembed)', headers: { Accept: 'application/json' } });
  },
  async extract({ view, observedAt }, target, o) {
    if (o.activityPub) {
      const ap = await readActivityPub(view, target, observedAt);
      if (ap) return ap;
    }
    const g = await extractGenericPost(view, observedAt);
    if (!g) return null;
    return { visibility: visible([signal('dom', g.main, `post metadata found: ${g.found.join(', ')}`)], g.main.status), post: g.post };
  },
};

export const genericCollector = definePlatformCollector(genericSpec);
