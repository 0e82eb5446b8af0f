import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CustodyEvent } from '../../schemas/custody.js';
import { startReplayProbeSite, type ReplayProbeSite } from '../fixtures/replay-probe/server.js';
import { startReplayEnv, type ReplayEnv } from '../integration/replay/replay-env.js';

const CASE = 'C-REPLAY-SEC';

/**
 * Attack: a captured page carries a script; when an analyst replays it, the script tries to use
 * the analyst's Exhibit session (read the cookie, call the API, make the API record reads in the
 * analyst's name). Replay runs on another origin, under ReplayWeb.page's policy, and the API
 * ignores the session cookie on any request another origin makes.
 */
describe('replay isolation: a replayed page cannot reach the API or the session', () => {
  let env: ReplayEnv;
  let probe: ReplayProbeSite;
  let sampleId: string;
  let probeId: string;
  let target: string;
  const userEvents = async (from: number): Promise<CustodyEvent[]> =>
    (await env.h.s.custody.readLog(CASE)).map((e) => e.event).filter((e) => e.seq > from && e.actor.id === 'analyst-sec');

  beforeAll(async () => {
    env = await startReplayEnv([{ name: 'analyst-sec', role: 'analyst', cases: [CASE] }]);
    probe = await startReplayProbeSite();
    sampleId = await env.capture('analyst-sec', CASE, `${env.h.site.url}/post/1`);
    // An API read that lands on the custody log when made with a session.
    target = `/api/cases/${CASE}/captures/${sampleId}/artifacts/screenshot.png`;
    Object.assign(probe.aim, { apiOrigin: env.appUrl, target });
    probeId = await env.capture('analyst-sec', CASE, `${probe.url}/probe`);
  });
  afterAll(async () => {
    await env?.close();
    await probe?.close();
  });

  it("the probe's script runs in replay, on the replay origin, gets no cookie, and nothing it sends reaches the API", async () => {
    const { ctx, page } = await env.signedIn('analyst-sec');
    const before = (await env.h.s.custody.readLog(CASE)).at(-1)!.event.seq;
    const seenBefore = env.seen.length;
    const frame = await env.openReplay(page, CASE, probeId, '/probe');
    await frame.waitForSelector('body[data-done="1"]', { timeout: 60_000 });
    const out = JSON.parse((await frame.textContent('#probe'))!) as Record<string, string>;
    // The script really ran, in the replay origin (ReplayWeb.page shows it its captured origin).
    expect(new URL(frame.url()).origin).toBe(env.replayUrl);
    expect(out.origin).toBe(probe.url);
    // The session cookie is HttpOnly: the replay origin shares the host name, not script access to it.
    expect(out.cookie).toBe('');
    // What the script got for /api/session is what the collector recorded (no session), replayed
    // from the archive; never the analyst's session.
    expect(out.session).not.toContain('analyst-sec');
    expect(out.session).toMatch(/^(blocked|answered 401 .*UNAUTHENTICATED)/);
    expect(out.image).toBe('error');
    // The live API received nothing from the replay: every request it saw came from the app itself.
    expect(env.seen.slice(seenBefore).filter((r) => r.site !== 'same-origin')).toEqual([]);
    // The only reads on the log are the analyst's own (the capture view and its replay).
    const events = await userEvents(before);
    expect(events.filter((e) => e.subject.captureId === sampleId)).toEqual([]);
    expect(events.some((e) => e.subject.captureId === probeId && (e.details as { view?: string }).view === 'replay')).toBe(true);
    await ctx.close();
  });

  it('a script on the replay origin that navigates its frame to the API is stopped by the web app frame policy: nothing reaches the API', async () => {
    const { ctx, page } = await env.signedIn('analyst-sec');
    const frame = await env.openReplay(page, CASE, probeId, '/probe');
    await frame.waitForSelector('body[data-done="1"]', { timeout: 60_000 });
    const before = (await env.h.s.custody.readLog(CASE)).at(-1)!.event.seq;
    const seenBefore = env.seen.length;
    // The viewer frame shares the replayed page's origin and is not rewritten by the replay: a
    // script that gets there can navigate it (a navigation is bound by no connect-src).
    const viewer = page.frames().find((f) => f.url().startsWith(`${env.replayUrl}/view/`))!;
    await viewer.evaluate((url) => {
      location.href = url;
    }, `${env.appUrl}${target}`);
    // The navigation ends in the browser's error page (the app's frame-src allows the replay origin only).
    const deadline = Date.now() + 30_000;
    while (page.frames().some((f) => f.url().startsWith(`${env.replayUrl}/view/`)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(page.frames().map((f) => f.url())).toContain('chrome-error://chromewebdata/');
    expect(env.seen.slice(seenBefore).filter((r) => r.path === target)).toEqual([]);
    expect(await userEvents(before)).toEqual([]);
    await ctx.close();
  });

  it('the API ignores the session cookie on a request another origin made (the browser attaches it across ports): no answer, no read on the log', async () => {
    const signIn = await env.h.api.app.request('/api/session', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'analyst-sec', token: env.h.tokens['analyst-sec'] }) });
    const cookie = /exhibit_session=[^;]+/.exec(signIn.headers.get('set-cookie') ?? '')![0];
    const before = (await env.h.s.custody.readLog(CASE)).at(-1)!.event.seq;
    for (const site of ['same-site', 'cross-site']) {
      const r = await env.h.api.app.request(target, { headers: { cookie, 'sec-fetch-site': site, 'sec-fetch-mode': 'navigate' } });
      expect(r.status, site).toBe(401);
    }
    expect(await userEvents(before)).toEqual([]);
    // The same cookie from the app's own pages reads (and is recorded): the refusal is the origin's.
    const own = await env.h.api.app.request(target, { headers: { cookie, 'sec-fetch-site': 'same-origin' } });
    expect(own.status).toBe(200);
    expect((await userEvents(before)).filter((e) => e.action === 'viewed')).toHaveLength(1);
  });
});
