import { z } from 'zod';
import { genericSpec } from './generic.js';
import { definePlatformCollector, type PlatformSpec } from './platform/capture-platform-page.js';
import { fetchActivityPub, looksLikeActivityPubObject, readActivityPub } from './platform/activitypub-object.js';

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
 * When no object comes back, the page is read like any page (`generic`: OpenGraph, JSON-LD, oEmbed).
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
    // Not an ActivityPub object after all: read the page like any other.
    const generic = await genericSpec.extract(ctx, target, { oembed: false, activityPub: false });
    return generic ? { ...generic, platform: 'generic' } : null;
  },
};

export const activityPubCollector = definePlatformCollector(activityPubSpec);
