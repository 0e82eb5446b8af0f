import { serve } from '@hono/node-server';
import { type Browser, type BrowserContext, type Frame, type Page } from 'playwright-core';
import { SubmitResponse } from '../../../schemas/api.js';
import { createReplayApp, listenReplay } from '../../../app/api/replay-server.js';
import { startHarness, type Harness, type HarnessUser } from '../api/harness.js';
import { launchUiBrowser, signIn } from '../../support/web-ui.js';


/** One request the API origin received: what a replayed page could have made it do. */
export interface SeenRequest {
  method: string;
  path: string;
  site: string | null;
  cookie: boolean;
  status: number;
}

/**
 * The web app and the replay origin as `exhibit serve` runs them (two ports, same host name), on
 * the API harness's real parts, and Chromium. The API origin logs every request it answers.
 */
export interface ReplayEnv {
  h: Harness;
  appUrl: string;
  replayUrl: string;
  seen: SeenRequest[];
  browser: Browser;
  /** Submit one URL through the API as `user` and wait for it to seal; its capture id. */
  capture(user: string, caseId: string, url: string): Promise<string>;
  signedIn(user: string): Promise<{ ctx: BrowserContext; page: Page }>;
  /** Open the Replay tab of a capture; the frame of the replayed page whose URL contains `urlPart`. */
  openReplay(page: Page, caseId: string, captureId: string, urlPart: string): Promise<Frame>;
  close(): Promise<void>;
}

export async function startReplayEnv(users: HarnessUser[]): Promise<ReplayEnv> {
  const h = await startHarness(users);
  const replay = await listenReplay(createReplayApp(h.s, h.s.logger), '127.0.0.1', 0);
  h.api.deps.options.replay = { ...h.api.deps.options.replay, port: replay.port };
  const seen: SeenRequest[] = [];
  const server = await new Promise<{ url: string; close(): Promise<void> }>((resolve, reject) => {
    const srv = serve(
      {
        fetch: async (req: Request) => {
          const res = await h.api.app.fetch(req);
          seen.push({ method: req.method, path: new URL(req.url).pathname, site: req.headers.get('sec-fetch-site'), cookie: (req.headers.get('cookie') ?? '').includes('exhibit_session='), status: res.status });
          return res;
        },
        hostname: '127.0.0.1',
        port: 0,
      },
      (info) => resolve({ url: `http://127.0.0.1:${info.port}`, close: () => new Promise<void>((r) => { srv.close(() => r()); (srv as { closeAllConnections?: () => void }).closeAllConnections?.(); }) }),
    );
    srv.once('error', reject);
  });
  const browser = await launchUiBrowser();

  const env: ReplayEnv = {
    h,
    appUrl: server.url,
    replayUrl: replay.url,
    seen,
    browser,
    async capture(user, caseId, url) {
      const r = await h.api.app.request(`/api/cases/${caseId}/captures`, { method: 'POST', headers: { authorization: `Bearer ${h.tokens[user]}`, 'content-type': 'application/json' }, body: JSON.stringify({ urls: [url], legalBasis: 'Test warrant 15/2026' }) });
      if (r.status !== 202) throw new Error(`submit answered ${r.status}: ${await r.text()}`);
      const id = SubmitResponse.parse(await r.json()).accepted[0]!.captureId;
      const st = await h.waitFinal(id, 150_000);
      if (st.state !== 'sealed') throw new Error(`capture ${id} ended ${st.state}`);
      return id;
    },
    async signedIn(user) {
      const ctx = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
      const page = await ctx.newPage();
      if (process.env.EXHIBIT_REPLAY_DEBUG) {
        page.on('console', (m) => process.stderr.write(`[console ${m.type()}] ${m.text()}\n`));
        page.on('requestfailed', (r) => process.stderr.write(`[failed] ${r.url()} ${r.failure()?.errorText}\n`));
        page.on('response', (r) => process.stderr.write(`[response] ${r.status()} ${r.url().slice(0, 160)}\n`));
      }
      await signIn(page, server.url, user, h.tokens[user]!);
      return { ctx, page };
    },
    async openReplay(page, caseId, captureId, urlPart) {
      const route = `/cases/${caseId}/captures/${captureId}`;
      await page.goto(`${server.url}/ui/#${route}`);
      await page.waitForSelector(`main#view[data-ready="${route}"]`, { timeout: 30_000 });
      await page.click('#tab-replay');
      await page.waitForSelector('#replay-frame', { timeout: 30_000 });
      // app → viewer (replay origin) → ReplayWeb.page's app frame → the replayed page.
      const deadline = Date.now() + 90_000;
      for (;;) {
        const f = page.frames().find((x) => x.url().includes('/rwp/w/') && x.url().includes(urlPart));
        if (f) {
          await f.waitForLoadState('load', { timeout: 60_000 });
          return f;
        }
        if (Date.now() > deadline) throw new Error(`no replayed frame for ${urlPart}; frames: ${page.frames().map((x) => x.url()).join(' | ')}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    },
    async close() {
      await browser.close();
      await server.close();
      await replay.close();
      await h.close();
    },
  };
  return env;
}
