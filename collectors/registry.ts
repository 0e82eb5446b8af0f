import { PermanentError } from '../lib/errors.js';
import type { Collector } from './collector.js';
import { redactUrl } from './browser/net-policy.js';
import { webCollector } from './web.js';

/**
 * Every collector, in the order they are asked. Platform collectors go before `web`, which
 * matches any http(s) URL and so must stay last. Adding a platform is one line here.
 */
export const COLLECTORS: readonly Collector[] = [webCollector];

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
