import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReplayEnv, type ReplayEnv } from './replay-env.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const SHOTS = path.join(ROOT, 'test-results', 'replay');
const CASE = 'C-REPLAY-001';

/**
 * The analyst opens Replay for a capture of the sample post: ReplayWeb.page, on the replay origin,
 * replays the sealed archive; the Arabic post text (right to left) and a photo show inside the
 * replay frame, and the view is on the custody log.
 */
describe('replay in the web app (Chromium, real server, Redis, MinIO, TSA)', () => {
  let env: ReplayEnv;
  let captureId: string;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    env = await startReplayEnv([
      { name: 'analyst-replay', role: 'analyst', cases: [CASE] },
      { name: 'auditor-replay', role: 'auditor', cases: [CASE] },
    ]);
    captureId = await env.capture('analyst-replay', CASE, `${env.h.site.url}/post/1`);
  });
  afterAll(async () => {
    await env?.close();
  });

  it('shows the post in ReplayWeb.page: Arabic text right to left and a photo, inside a sandboxed frame on the replay origin', async () => {
    const { ctx, page } = await env.signedIn('analyst-replay');
    const frame = await env.openReplay(page, CASE, captureId, '/post/1');
    // The frame in our page is sandboxed and on the replay origin, never ours.
    const iframe = page.locator('#replay-frame');
    expect(await iframe.getAttribute('sandbox')).toBe('allow-scripts allow-same-origin allow-forms');
    const viewer = new URL((await iframe.getAttribute('src'))!);
    expect(viewer.origin).toBe(env.replayUrl);
    expect(viewer.origin).not.toBe(env.appUrl);
    // The replayed page: the Arabic paragraph, laid out right to left, and a decoded photo.
    const ar = frame.locator('#post-text-ar');
    await ar.waitFor({ timeout: 60_000 });
    expect(await ar.textContent()).toContain('دمشق');
    expect(await ar.evaluate((el) => getComputedStyle(el).direction)).toBe('rtl');
    await frame.waitForFunction(() => Array.from(document.images).some((i) => i.alt === 'Market street in the morning' && i.complete && i.naturalWidth === 800), null, { timeout: 60_000 });
    // The replayed page's own URL is the captured one (rewritten by ReplayWeb.page under /rwp/w/).
    expect(frame.url()).toContain(`${env.h.site.url}/post/1`);
    expect(new URL(frame.url()).origin).toBe(env.replayUrl);
    await (await frame.$('#post-text-ar'))!.scrollIntoViewIfNeeded();
    const shot = path.join(SHOTS, 'replay-post.png');
    await page.screenshot({ path: shot, fullPage: false });
    if (process.env.EXHIBIT_DOCS_SHOTS) copyFileSync(shot, path.join(ROOT, 'docs', 'replay.png'));
    // The view is a read on the custody log, naming the analyst and the archive.
    const log = (await env.h.s.custody.readLog(CASE)).map((e) => e.event);
    const read = log.find((e) => e.action === 'viewed' && e.subject.captureId === captureId && (e.details as { view?: string }).view === 'replay');
    expect(read?.actor.id).toBe('analyst-replay');
    expect((read?.details as { artifact?: string }).artifact).toMatch(/\.warc(\.gz)?$|\.wacz$/);
    expect(await page.locator('#replay-info').textContent()).toContain(`custody event ${read!.seq}`);
    await ctx.close();
  });

  it('the archive is served to the replay origin only with a live token for that capture and artifact', async () => {
    const r = await env.h.api.app.request(`/api/cases/${CASE}/captures/${captureId}/replay`, { method: 'POST', headers: { authorization: `Bearer ${env.h.tokens['analyst-replay']}`, origin: env.appUrl } });
    expect(r.status).toBe(200);
    const t = (await r.json()) as { viewerUrl: string; archive: { name: string; sha256: string; size: number } };
    const token = t.viewerUrl.split('/view/')[1]!;
    const ok = await fetch(`${env.replayUrl}/archive/${token}/${t.archive.name}`);
    expect(ok.status).toBe(200);
    const bytes = Buffer.from(await ok.arrayBuffer());
    expect(bytes.length).toBe(t.archive.size);
    const { createHash } = await import('node:crypto');
    expect(`sha256:${createHash('sha256').update(bytes).digest('hex')}`).toBe(t.archive.sha256);
    // A range, as ReplayWeb.page asks for parts of a WACZ.
    const part = await fetch(`${env.replayUrl}/archive/${token}/${t.archive.name}`, { headers: { range: 'bytes=0-9' } });
    expect(part.status).toBe(206);
    expect(Buffer.from(await part.arrayBuffer())).toEqual(bytes.subarray(0, 10));
    // Another artifact of the same capture, a made-up token, no token: nothing.
    expect((await fetch(`${env.replayUrl}/archive/${token}/dom.html`)).status).toBe(404);
    expect((await fetch(`${env.replayUrl}/archive/${'A'.repeat(43)}/${t.archive.name}`)).status).toBe(404);
    expect((await fetch(`${env.replayUrl}/view/${'A'.repeat(43)}`)).status).toBe(404);
    // The viewer may be framed by the web app only.
    const view = await fetch(t.viewerUrl);
    expect(view.headers.get('content-security-policy')).toContain(`frame-ancestors ${env.appUrl}`);
    // Read-only: the replay origin has no route that takes a body.
    expect((await fetch(`${env.replayUrl}/archive/${token}/${t.archive.name}`, { method: 'POST', body: 'x' })).status).toBe(404);
    // An auditor may read custody, not evidence: no replay.
    const denied = await env.h.api.app.request(`/api/cases/${CASE}/captures/${captureId}/replay`, { method: 'POST', headers: { authorization: `Bearer ${env.h.tokens['auditor-replay']}` } });
    expect(denied.status).toBe(403);
  });

  it('an expired token opens nothing', async () => {
    const r = await env.h.api.app.request(`/api/cases/${CASE}/captures/${captureId}/replay`, { method: 'POST', headers: { authorization: `Bearer ${env.h.tokens['analyst-replay']}` } });
    const t = (await r.json()) as { viewerUrl: string; archive: { name: string } };
    const token = t.viewerUrl.split('/view/')[1]!;
    // Expire it the way Redis does at the end of its TTL.
    const { createHash } = await import('node:crypto');
    await env.h.s.redis.del(`${env.h.config.redis.prefix}:api:replay-token:${createHash('sha256').update(token).digest('hex')}`);
    expect((await fetch(t.viewerUrl)).status).toBe(404);
    expect((await fetch(`${env.replayUrl}/archive/${token}/${t.archive.name}`)).status).toBe(404);
  });
});
