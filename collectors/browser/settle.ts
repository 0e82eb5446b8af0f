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

/** Where the page is after a scroll step, and whether the step moved it. */
interface ScrollState {
  moved: boolean;
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

/**
 * Scroll by `dy` CSS px (0: stay) and report after two animation frames: by then the page's
 * IntersectionObserver callbacks for the new position have run and the lazy requests they start
 * (and Chromium's own `loading=lazy` fetches) are on the wire, so the network tells the rest.
 * Bounded at 500 ms for pages whose frames do not come (a hidden tab, a stalled renderer).
 */
const scrollStep = (dy: number): string => `new Promise((resolve) => {
  const el = document.scrollingElement || document.documentElement;
  const before = window.scrollY;
  if (${dy} > 0) window.scrollBy(0, ${dy});
  const moved = window.scrollY !== before;
  const report = () => resolve({ moved, y: window.scrollY, viewport: window.innerHeight, height: Math.max(el.scrollHeight, document.body ? document.body.scrollHeight : 0) });
  requestAnimationFrame(() => requestAnimationFrame(report));
  setTimeout(report, 500);
})`;

/** How often the page height is read while waiting at the bottom, in ms. */
const GROWTH_POLL_MS = 50;

/**
 * Wait at the bottom until the network has been quiet for `quietMs` (→ quiet) or the page grew
 * below the viewport (→ grew: there is more to walk). Either way the caller gets the last state.
 */
async function waitAtBottom(
  step: (dy: number) => Promise<ScrollState>,
  activity: NetworkActivity,
  at: ScrollState,
  quietMs: number,
  deadline: number,
  wait: { signal?: AbortSignal; now: () => number },
): Promise<{ quiet: boolean; grew: boolean; state: ScrollState }> {
  for (;;) {
    const quiet = await waitForNetworkQuiet(activity, quietMs, Math.min(deadline, wait.now() + GROWTH_POLL_MS), wait);
    const state = await step(0);
    const grew = state.height > at.height + 2 && state.y + state.viewport < state.height - 2;
    // A request that started while the page was being read means it was not quiet after all.
    if (grew || (quiet && activity.inflight() === 0)) return { quiet, grew, state };
    if (wait.now() >= deadline) return { quiet: false, grew: false, state };
  }
}

/**
 * Let the page settle for a faithful screenshot: walk down a viewport at a time so lazy content
 * (IntersectionObserver, `loading=lazy`) is asked for, wait at the bottom until the network has
 * been quiet for `networkQuietMs`, walk on if the page grew (infinite scroll), then go back to the
 * top. Nothing waits on a fixed pause: each step waits two frames, lazy loads run while the walk
 * goes on, and the one quiet window at the bottom covers them all. Bounded by `settleTimeoutMs`: a
 * page that never settles is reported, not waited for.
 */
export async function settlePage(page: Page, activity: NetworkActivity, opts: SettleOptions): Promise<SettleResult> {
  const now = opts.now ?? Date.now;
  const started = now();
  const deadline = started + opts.settleTimeoutMs;
  const maxSteps = opts.maxSteps ?? 200;
  const wait = { signal: opts.signal, now } as const;
  // Scrolling counts as activity: scroll handlers often wait (debounce) before they fetch, so the
  // quiet window runs from the later of the last request and the last scroll.
  let scrolledAt = now();
  const sinceScroll: NetworkActivity = { inflight: () => activity.inflight(), lastActivityAt: () => Math.max(activity.lastActivityAt(), scrolledAt) };
  const step = async (dy: number): Promise<ScrollState> => {
    const state = (await page.evaluate(scrollStep(dy))) as ScrollState;
    if (state.moved) scrolledAt = now();
    return state;
  };
  let steps = 0;
  let reachedBottom = false;
  let heightCapped = false;
  let reason: string | null = null;
  let s = await step(0);

  for (;;) {
    opts.signal?.throwIfAborted();
    const limit = Math.min(s.height, opts.maxScrollHeight);
    const stuck = steps > 0 && !s.moved;
    if (stuck || s.y + s.viewport >= limit - 2) {
      // At the bottom (or scrolling no longer moves: overflow hidden, an inner scroller): wait for
      // the network to go quiet, walking on as soon as the page grows (infinite scroll).
      const end = await waitAtBottom(step, sinceScroll, s, opts.networkQuietMs, deadline, wait);
      const after = end.state;
      if (end.grew && !stuck && now() < deadline && steps < maxSteps) {
        s = { ...after, moved: true };
        continue;
      }
      reachedBottom = true;
      heightCapped = after.height > opts.maxScrollHeight;
      if (!end.quiet) reason = `network still busy after ${opts.settleTimeoutMs} ms`;
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
    s = await step(Math.max(100, Math.floor(s.viewport * 0.85)));
    steps += 1;
  }

  await page.evaluate(() => window.scrollTo(0, 0));
  await page.evaluate(AFTER_SCROLL_TOP);
  return { settled: reason === null, reachedBottom, heightCapped, scrollSteps: steps, elapsedMs: now() - started, reason };
}
