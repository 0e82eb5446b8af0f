import { ConfigError, PermanentError } from '../lib/errors.js';
import type { Collector } from './collector.js';
import { redactUrl } from '../lib/target-url.js';
import { xCollector } from './x.js';
import { redditCollector } from './reddit.js';
import { youtubeCollector } from './youtube.js';
import { activityPubCollector } from './activitypub.js';
import { blueskyCollector } from './bluesky.js';
import { facebookCollector } from './facebook.js';
import { genericCollector } from './generic.js';
import { instagramCollector } from './instagram.js';
import { mastodonCollector } from './mastodon.js';
import { telegramCollector } from './telegram.js';
import { tiktokCollector } from './tiktok.js';
import { vkCollector } from './vk.js';
import { webCollector } from './web.js';

/**
 * Every collector, in the order they are asked. Platform collectors go before `generic` (oEmbed,
 * OpenGraph, JSON-LD from any page), which goes before `web`; both match any http(s) URL, so they
 * stay last. `activitypub` (fediverse object URL shapes on any host) goes after the platforms, so a
 * configured Mastodon server keeps its own collector. Adding a platform is one line here.
 */
export const COLLECTORS: readonly Collector[] = [telegramCollector, mastodonCollector, blueskyCollector, instagramCollector, facebookCollector, tiktokCollector, vkCollector, xCollector, redditCollector, youtubeCollector, activityPubCollector, genericCollector, webCollector];

/**
 * The collectors with their options from config (`collectors.<id>`), validated by each collector's
 * `configSchema`. Options for a collector that takes none, or for an unknown id, are refused.
 * @throws ConfigError when options do not validate.
 */
export function configureCollectors(options: Readonly<Record<string, unknown>>, collectors: readonly Collector[] = COLLECTORS): Collector[] {
  for (const id of Object.keys(options)) {
    const c = collectors.find((x) => x.id === id);
    if (!c) throw new ConfigError(`collectors.${id}: no collector has this id (known: ${collectors.map((x) => x.id).join(', ')})`);
    if (!c.configSchema || !c.configure) throw new ConfigError(`collectors.${id}: this collector takes no options`);
  }
  return collectors.map((c) => {
    if (!c.configSchema || !c.configure) return c;
    const parsed = c.configSchema.safeParse(options[c.id] ?? {});
    if (!parsed.success) {
      throw new ConfigError(`collectors.${c.id}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
    }
    return c.configure(parsed.data);
  });
}

/**
 * The first collector that handles `url`.
 * @throws PermanentError `UNSUPPORTED_SCHEME` when none does (only http and https are captured).
 */
export function selectCollector(url: URL, collectors: readonly Collector[] = COLLECTORS): Collector {
  const found = collectors.find((c) => c.matches(url));
  if (!found) throw new PermanentError('UNSUPPORTED_SCHEME', `no collector handles ${redactUrl(url)}: only http and https pages can be captured`);
  return found;
}

/** A collector by id, e.g. for `--collector web`. */
export function collectorById(id: string, collectors: readonly Collector[] = COLLECTORS): Collector | undefined {
  return collectors.find((c) => c.id === id);
}
