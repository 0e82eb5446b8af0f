import { z } from 'zod';
import { definePlatformCollector, type PlatformSpec } from './platform/capture-platform-page.js';
import { fetchActivityPub, looksLikeActivityPubObject, readActivityPub } from './platform/activitypub-object.js';
import { notRecognised, observeHttpStatus, signal } from './platform/honest-state.js';

/**
 * ActivityPub objects on any server (Mastodon, Pleroma/Akkoma, Misskey and its forks, PeerTube, …)
 * whose host is not one a platform collector is configured for.
 *
 * How an arbitrary host is recognised without slowing every page:
 * - this collector matches only URLs whose path has the shape fediverse software gives its objects
 *   (`/@user/<id>`, `/users/<u>/statuses/<id>`, `/notice/<id>`, `/objects/<uuid>`, `/notes/<id>`,
 *   `/videos/watch/<id>`, `/w/<id>`); every other URL goes to `generic` as before;
 * - after the page loaded, the object is asked for: at the page's
 *   `<link rel="alternate" type="application/activity+json">` (or the `Link` header of the same
 *   meaning) when there is one, else at the URL itself by content negotiation
 *   (`Accept: application/activity+json, application/ld+json; profile="…activitystreams"`); one
 *   extra request, made through the recording context so request and answer are in the WARC;
 * - `generic` does the first half for every page at no cost: it already parses the served HTML, and
 *   only when that HTML advertises an ActivityPub alternate does it fetch the object (see
 *   {@link fetchActivityPub}); it never negotiates blindly.
 * When no object comes back, nothing is claimed about visibility unless the server's HTTP status says
 * so: the page is `not-recognised`, read by the generic extraction (OpenGraph, JSON-LD, oEmbed) and
 * flagged for review (post.json `platform: generic`).
 */

export const ActivityPubOptions = z.object({
  /** Ask for the object by content negotiation when the page advertises none. @defaultValue true */
  negotiate: z.boolean().default(true),
  /** Fetch the author's actor document, for the fully qualified handle. @defaultValue true */
  actor: z.boolean().default(true),
});
export type ActivityPubOptions = z.infer<typeof ActivityPubOptions>;

export const activityPubSpec: PlatformSpec<ActivityPubOptions> = {
  id: 'activitypub',
  version: '1.0.0',
  platform: 'activitypub',
  capabilities: ['page', 'screenshot', 'warc', 'mhtml', 'media', 'post'],
  configSchema: ActivityPubOptions,
  matches: (url) => looksLikeActivityPubObject(url),
  async onPage(page, target, o) {
    await fetchActivityPub(page, target, o);
  },
  async extract(ctx, target) {
    const found = await readActivityPub(ctx.view, target, ctx.observedAt);
    if (found) return found;
    // No object came back: the URL only had an object's shape. The server's own HTTP status is its word;
    // anything else says nothing about visibility: not-recognised, read the generic way (OpenGraph,
    // JSON-LD) by the platform pattern and flagged for review. `platform: generic`: no ActivityPub
    // object was seen, so none is claimed.
    const main = ctx.view.mainDocument();
    if (!main || main.status === null) return null;
    const http = observeHttpStatus(main, 'the server');
    if (http) return { platform: 'generic', visibility: http, post: null };
    const reason = 'no ActivityPub object came back for this object-shaped URL (asked at the advertised alternate or by content negotiation)';
    return { platform: 'generic', visibility: notRecognised(reason, [signal('dom', main, `HTTP ${main.status}: the page answered, but no ActivityPub object was recorded for it`)], main.status), post: null };
  },
};

export const activityPubCollector = definePlatformCollector(activityPubSpec);
