import type { Page } from 'playwright-core';

/** What settling needs to know about network activity (the recording proxy provides it). */
export interface NetworkActivity {
  /** Requests in flight right now. */
  inflight(): number;
  /** Epoch ms of the last request start or end. */
  lastActivityAt(): number;
}

export interface SettleOptions {
  /** Network counts as quiet after this many ms with nothing in flight. */
  networkQuietMs: number;
  /** Budget for the whole settle, in ms; settling stops (and reports it) when exceeded. */
  settleTimeoutMs: number;
  /** Stop scrolling past this height (CSS px): the screenshot will be cut there anyway. */
  maxScrollHeight: number;
  /** Pause after each scroll step before checking the network, in ms. @defaultValue 150 */
  stepDelayMs?: number;
  /** Upper bound on scroll steps, against pages that grow forever. @defaultValue 200 */
  maxSteps?: number;
  signal?: AbortSignal;
  /** Injected for tests. @defaultValue Date.now */
  now?: () => number;
}

export interface SettleResult {
  /** False when the budget ran out (or the page kept growing) before the network went quiet at the bottom. */
  settled: boolean;
  reachedBottom: boolean;
  /** Scrolling stopped at `maxScrollHeight`. */
  heightCapped: boolean;
  scrollSteps: number;
  elapsedMs: number;
  /** Why settling stopped short, when it did. */
  reason: string | null;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/**
 * Wait until nothing has been in flight for `quietMs`, or until `deadline` (epoch ms).
 * @returns whether the network went quiet in time.
 */
export async function waitForNetworkQuiet(activity: NetworkActivity, quietMs: number, deadline: number, opts: { signal?: AbortSignal; now?: () => number; pollMs?: number } = {}): Promise<boolean> {
  const now = opts.now ?? Date.now;
  const poll = opts.pollMs ?? 50;
  for (;;) {
    opts.signal?.throwIfAborted();
    const t = now();
    if (activity.inflight() === 0 && t - activity.lastActivityAt() >= quietMs) return true;
    if (t >= deadline) return false;
    const idleFor = activity.inflight() === 0 ? t - activity.lastActivityAt() : 0;
    await sleep(Math.min(poll, Math.max(1, quietMs - idleFor), Math.max(1, deadline - t)), opts.signal);
  }
}

interface ScrollState {
  y: number;
  viewport: number;
  height: number;
}

/**
 * Two frames so sticky headers and scroll-linked styles repaint at the top; fonts must be ready too.
 * In-page code is a string: tsx/esbuild `keepNames` would inject `__name` helpers the page lacks.
 */
const AFTER_SCROLL_TOP = `new Promise((resolve) => {
  const done = () => requestAnimationFrame(() => requestAnimationFrame(() => resolve(true)));
  if (document.fonts) document.fonts.ready.then(done, done); else done();
  setTimeout(() => resolve(false), 1000);
})`;

const readScroll = (page: Page): Promise<ScrollState> =>
  page.evaluate(() => {
    const el = document.scrollingElement ?? document.documentElement;
    return { y: window.scrollY, viewport: window.innerHeight, height: Math.max(el.scrollHeight, document.body ? document.body.scrollHeight : 0) };
  });

/**
 * Let the page settle for a faithful screenshot: scroll down a viewport at a time so lazy content
 * (IntersectionObserver, `loading=lazy`) loads, wait for the network to go quiet at the bottom,
 * then scroll back to the top. Bounded by `settleTimeoutMs`: a page that never settles is reported,
 * not waited for.
 */
export async function settlePage(page: Page, activity: NetworkActivity, opts: SettleOptions): Promise<SettleResult> {
  const now = opts.now ?? Date.now;
  const started = now();
  const deadline = started + opts.settleTimeoutMs;
  const stepDelay = opts.stepDelayMs ?? 150;
  const maxSteps = opts.maxSteps ?? 200;
  const stepQuiet = Math.min(opts.networkQuietMs, 250);
  const wait = { signal: opts.signal, now } as const;
  let steps = 0;
  let reachedBottom = false;
  let heightCapped = false;
  let reason: string | null = null;
  let stuck = false;

  await waitForNetworkQuiet(activity, stepQuiet, deadline, wait);
  for (;;) {
    opts.signal?.throwIfAborted();
    const s = await readScroll(page);
    const limit = Math.min(s.height, opts.maxScrollHeight);
    if (stuck || s.y + s.viewport >= limit - 2) {
      // At the bottom: let lazy loads finish, then see whether the page grew.
      const quiet = await waitForNetworkQuiet(activity, opts.networkQuietMs, deadline, wait);
      const after = await readScroll(page);
      if (!stuck && after.height > s.height + 2 && after.y + after.viewport < Math.min(after.height, opts.maxScrollHeight) - 2 && now() < deadline && steps < maxSteps) continue;
      reachedBottom = true;
      heightCapped = after.height > opts.maxScrollHeight;
      if (!quiet) reason = `network still busy after ${opts.settleTimeoutMs} ms`;
      break;
    }
    if (now() >= deadline) {
      reason = `settle budget of ${opts.settleTimeoutMs} ms ran out before the bottom of the page (${s.y + s.viewport} of ${s.height} px)`;
      break;
    }
    if (steps >= maxSteps) {
      reason = `stopped after ${maxSteps} scroll steps (${s.y + s.viewport} of ${s.height} px): the page keeps growing`;
      break;
    }
    // Scrolling that does not move (overflow: hidden, an inner scroller) ends the walk down.
    const moved = await page.evaluate((dy) => {
      const before = window.scrollY;
      window.scrollBy(0, dy);
      return window.scrollY !== before;
    }, Math.max(100, Math.floor(s.viewport * 0.85)));
    stuck = !moved;
    steps += 1;
    await sleep(Math.min(stepDelay, Math.max(0, deadline - now())), opts.signal);
    await waitForNetworkQuiet(activity, stepQuiet, deadline, wait);
  }

  await page.evaluate(() => window.scrollTo(0, 0));
  // Two frames so sticky headers and scroll-linked styles repaint at the top; fonts must be ready too.
  await page.evaluate(AFTER_SCROLL_TOP);
  return { settled: reason === null, reachedBottom, heightCapped, scrollSteps: steps, elapsedMs: now() - started, reason };
}
