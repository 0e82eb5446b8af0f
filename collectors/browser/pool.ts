import { chromium, type Browser, type BrowserContext, type BrowserContextOptions } from 'playwright-core';
import type { Logger } from '../../lib/logger.js';
import { TransientError } from '../../lib/errors.js';
import { Semaphore } from '../../lib/concurrency.js';
import type { Config } from '../../schemas/config.js';
import { CHROMIUM_ARGS } from './chromium-args.js';

export { CHROMIUM_ARGS };

export interface BrowserPoolOptions {
  /** Chromium binary. @defaultValue `/usr/bin/chromium` */
  chromiumPath: string;
  /** Browser contexts open at once; further captures wait for a slot. */
  concurrency: number;
  logger: Logger;
  /** Time allowed for Chromium to start, in ms. @defaultValue 30000 */
  launchTimeoutMs?: number;
}

/** How one capture's context is set up. Every capture gets a fresh context: no cookies, cache or storage carried over (except a collection account's `storageState`, when given). */
export interface ContextOptions {
  viewport: { width: number; height: number };
  locale: string;
  timezoneId: string;
  /** Null keeps Chromium's own user agent. */
  userAgent: string | null;
  /** The recording proxy; `bypass: '<-loopback>'` makes Chromium send loopback traffic through it too. */
  proxy?: { server: string; bypass?: string };
  ignoreHTTPSErrors?: boolean;
  /** Cookies and localStorage to start from (a collection account's); absent: an empty, logged-out context. */
  storageState?: Exclude<BrowserContextOptions['storageState'], string>;
}

/**
 * One Chromium per worker process, launched on first use and relaunched when it crashed or
 * disconnected, with a bounded number of concurrent browser contexts.
 */
export class BrowserPool {
  private readonly opts: BrowserPoolOptions;
  private readonly slots: Semaphore;
  private browser: Browser | null = null;
  private launching: Promise<Browser> | null = null;
  private closed = false;
  private active = 0;
  private readonly userAgents = new WeakMap<Browser, string>();

  constructor(opts: BrowserPoolOptions) {
    if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) throw new RangeError(`concurrency must be a positive integer, got ${opts.concurrency}`);
    this.opts = opts;
    this.slots = new Semaphore(opts.concurrency);
  }

  /** A pool sized and pointed by the capture config. */
  static fromConfig(capture: Config['capture'], logger: Logger): BrowserPool {
    return new BrowserPool({ chromiumPath: capture.chromiumPath, concurrency: capture.concurrency, logger });
  }

  /** Contexts open right now. */
  activeContexts(): number {
    return this.active;
  }

  /** Captures waiting for a free context slot. */
  waitingCaptures(): number {
    return this.slots.waiting;
  }

  /** The running browser, launching (or relaunching) it if needed. */
  async browserInstance(): Promise<Browser> {
    if (this.closed) throw new TransientError('BROWSER_ERROR', 'the browser pool is closed');
    if (this.browser?.isConnected()) return this.browser;
    this.browser = null;
    if (!this.launching) {
      this.launching = this.launch().finally(() => {
        this.launching = null;
      });
    }
    return this.launching;
  }

  private async launch(): Promise<Browser> {
    const { chromiumPath, logger } = this.opts;
    const started = Date.now();
    let browser: Browser;
    try {
      browser = await chromium.launch({
        executablePath: chromiumPath,
        args: [...CHROMIUM_ARGS],
        timeout: this.opts.launchTimeoutMs ?? 30_000,
        // Workers handle SIGTERM themselves and close the pool in order.
        handleSIGINT: false,
        handleSIGTERM: false,
        handleSIGHUP: false,
      });
    } catch (cause) {
      throw new TransientError('BROWSER_ERROR', `could not launch Chromium at ${chromiumPath}: ${(cause as Error).message.split('\n')[0]}`, { cause });
    }
    browser.on('disconnected', () => {
      if (this.browser === browser) this.browser = null;
      if (!this.closed) logger.warn({ context: 'browser' }, 'Chromium disconnected; it will be relaunched on next use');
    });
    logger.info({ context: 'browser', version: browser.version(), ms: Date.now() - started }, 'Chromium launched');
    if (this.closed) {
      await browser.close().catch(() => undefined);
      throw new TransientError('BROWSER_ERROR', 'the browser pool was closed while Chromium was starting');
    }
    this.browser = browser;
    return browser;
  }

  /**
   * Chromium's own user agent (what a context without an override sends), read once per launch from
   * a throwaway context. Used when a capture ends before its page could report it.
   */
  async defaultUserAgent(): Promise<string> {
    const browser = await this.browserInstance();
    const cached = this.userAgents.get(browser);
    if (cached) return cached;
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const ua = String(await page.evaluate('navigator.userAgent'));
      this.userAgents.set(browser, ua);
      return ua;
    } finally {
      await context.close().catch(() => undefined);
    }
  }

  /** Chromium's version string, e.g. `156.0.8078.108` (launches the browser if needed). */
  async browserVersion(): Promise<string> {
    return (await this.browserInstance()).version();
  }

  /**
   * Run `fn` with a fresh browser context, waiting for a free slot first. The context is always
   * closed afterwards, whether `fn` resolved or threw. When `signal` aborts (before the context
   * exists or while `fn` runs) the context is closed at once, which ends every pending Playwright
   * call in `fn` (navigation, evaluation, screenshot) instead of letting it run to its own timeout.
   * @throws the signal's reason when it aborted before `fn` started
   */
  async withContext<T>(options: ContextOptions, fn: (context: BrowserContext, browser: Browser) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const release = await this.slots.acquire(signal);
    this.active += 1;
    let context: BrowserContext | null = null;
    const onAbort = (): void => void context?.close().catch(() => undefined);
    try {
      const browser = await this.browserInstance();
      signal?.throwIfAborted();
      try {
        context = await browser.newContext({
          viewport: options.viewport,
          screen: options.viewport,
          deviceScaleFactor: 1,
          locale: options.locale,
          timezoneId: options.timezoneId,
          ...(options.userAgent ? { userAgent: options.userAgent } : {}),
          ...(options.proxy ? { proxy: options.proxy } : {}),
          ...(options.storageState ? { storageState: options.storageState } : {}),
          ignoreHTTPSErrors: options.ignoreHTTPSErrors ?? false,
          serviceWorkers: 'block',
          acceptDownloads: false,
        });
      } catch (cause) {
        throw new TransientError('BROWSER_ERROR', `could not open a browser context: ${(cause as Error).message.split('\n')[0]}`, { cause });
      }
      // Checked again once the context exists: an abort during launch or newContext fired no listener.
      signal?.throwIfAborted();
      signal?.addEventListener('abort', onAbort, { once: true });
      return await fn(context, browser);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (context) await context.close().catch(() => undefined);
      this.active -= 1;
      release();
    }
  }

  /** Close the browser; later use throws. */
  async close(): Promise<void> {
    this.closed = true;
    const pending = this.launching;
    const browser = this.browser;
    this.browser = null;
    if (browser) await browser.close().catch(() => undefined);
    if (pending) await pending.then((b) => b.close()).catch(() => undefined);
  }
}
