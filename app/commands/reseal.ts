import type { Config } from '../../schemas/config.js';
import { resealCapture } from '../../workers/reseal.js';
import { startWorkers } from '../../workers/runtime.js';
import type { CaptureStatus } from '../../workers/job-state.js';
import type { ExitCode } from '../exit-codes.js';
import { exitCodeForCaptures, followCaptures } from './capture.js';
import { err, out, withServices } from './common.js';

/** `exhibit reseal <captureId...>`: put failed seals back in the queue; with --wait, seal them here. */
export async function resealCommand(config: Config, ids: string[], opts: { wait: boolean; json: boolean }): Promise<ExitCode> {
  return withServices(config, async (s) => {
    const requeued: string[] = [];
    const statuses = new Map<string, CaptureStatus>();
    for (const id of ids) {
      const r = await resealCapture(s, id);
      statuses.set(id, r.status);
      if (r.requeued) requeued.push(id);
      if (!opts.json) err(r.requeued ? `requeued for sealing: ${id}` : `${id} is ${r.status.state}: nothing to reseal`);
    }
    if (opts.wait && requeued.length) {
      const running = await startWorkers(s, { capture: false, seal: true, watch: false });
      try {
        for (const [id, st] of await followCaptures(s, requeued)) statuses.set(id, st);
      } finally {
        await running.close();
      }
    }
    const all = [...statuses.values()];
    if (opts.json) out(JSON.stringify(all, null, 2));
    else
      for (const st of all) {
        const why = st.failure ? ` — ${st.failure.code}: ${st.failure.message}` : '';
        out(`${st.captureId}  ${st.state}${st.result ? ` manifest=${st.result.manifestDigest}` : ''}${why}`);
      }
    return exitCodeForCaptures([], opts.wait ? all : all.filter((st) => st.state !== 'sealing'));
  });
}
