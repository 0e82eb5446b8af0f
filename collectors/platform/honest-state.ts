import type { Failure } from '../../schemas/errors.js';
import { NOT_SHOWN_STATES, type PlatformObservation, type VisibilitySignal, type VisibilityState } from '../../schemas/post.js';
import { headerValue } from '../browser/page-facts.js';
import { redactUrl } from '../../lib/target-url.js';
import type { RecordedExchange } from '../browser/recorded-exchange.js';

/**
 * Honest-state detection shared by platform collectors: what the platform's answer says about
 * whether the post could be seen. Platform files add their own signals (a login-wall element, an
 * error JSON) and call {@link observe}.
 *
 * The rule: a state that says the platform did not show the post (`unavailable`, `deleted`,
 * `login-wall`, …) is stated only on a positive signal from the platform: a status, an error JSON,
 * a redirect to its login page, an error page in its own words. Not finding what the collector
 * looks for (no JSON blob, no post markup, no API answer) is never such a signal: that page is
 * {@link notRecognised}, read by the generic extraction and flagged for review.
 */

/** A post that was shown. */
export function visible(signals: VisibilitySignal[] = [], httpStatus: number | null = 200): PlatformObservation {
  return { state: 'visible', reason: null, signals, httpStatus, retryAfter: null };
}

/** An observation for a state other than visible; `reason` is one sentence for people. */
export function observe(state: VisibilityState, reason: string, signals: VisibilitySignal[], httpStatus: number | null, retryAfter: string | null = null): PlatformObservation {
  return { state, reason, signals, httpStatus, retryAfter };
}

/**
 * The page answered, but not in a layout this collector knows: nothing is claimed about visibility.
 * The platform pattern then reads the post with the generic OpenGraph/JSON-LD/DOM extraction and
 * flags the document for review; the capture is sealed, not failed.
 */
export function notRecognised(reason: string, signals: VisibilitySignal[], httpStatus: number | null): PlatformObservation {
  return { state: 'not-recognised', reason, signals, httpStatus, retryAfter: null };
}

/** A signal seen in a response. */
export function signal(source: string, ex: RecordedExchange | null, detail: string): VisibilitySignal {
  return { source, url: ex ? ex.url : null, detail };
}

/** When the platform said to come back: `Retry-After`, else `X-RateLimit-Reset` / `RateLimit-Reset`, as stated. */
export function retryAfterOf(ex: RecordedExchange): string | null {
  return headerValue(ex.responseHeaders, 'retry-after') ?? headerValue(ex.responseHeaders, 'x-ratelimit-reset') ?? headerValue(ex.responseHeaders, 'ratelimit-reset');
}

/**
 * What an HTTP status alone says, or null when it says nothing about visibility (2xx, 3xx, 5xx).
 * 401 is a login wall; 403 is only "unavailable" (platforms use it for blocks, bans and bot walls alike).
 */
export function observeHttpStatus(ex: RecordedExchange, what = 'the platform'): PlatformObservation | null {
  const status = ex.status;
  if (status === null) return null;
  const sig = [signal('http-status', ex, `HTTP ${status}${ex.statusText ? ` ${ex.statusText}` : ''}`)];
  switch (status) {
    case 429: {
      const retry = retryAfterOf(ex);
      if (retry) sig.push(signal('header', ex, `come back at/after: ${retry}`));
      return observe('rate-limited', `${what} answered HTTP 429 Too Many Requests for ${redactUrl(ex.url)}`, sig, status, retry);
    }
    case 401:
      return observe('login-wall', `${what} answered HTTP 401: viewing requires a logged-in account`, sig, status);
    case 410:
      return observe('deleted', `${what} answered HTTP 410 Gone: the post was removed`, sig, status);
    case 451:
      return observe('region-gated', `${what} answered HTTP 451 Unavailable For Legal Reasons`, sig, status);
    case 403:
    case 404:
      return observe('unavailable', `${what} answered HTTP ${status} for ${redactUrl(ex.url)}`, sig, status);
    default:
      return null;
  }
}

/**
 * The capture failure that reports a state in which the platform did not show the post (rate limits
 * are worth retrying; the rest are not). `visible` and `not-recognised` are no failure.
 */
export function failureForObservation(obs: PlatformObservation, url: string, previous: Failure | null): Failure | null {
  if (!(NOT_SHOWN_STATES as readonly VisibilityState[]).includes(obs.state)) return previous;
  const because = obs.reason ? `: ${obs.reason}` : '';
  const also = previous && previous.code !== 'HTTP_ERROR' ? ` (${previous.message})` : '';
  return {
    code: 'NOT_VISIBLE',
    kind: obs.state === 'rate-limited' ? 'transient' : 'permanent',
    message: `the post at ${redactUrl(url)} is not visible (${obs.state})${because}${also}`,
  };
}
