import type { Config } from '../../schemas/config.js';
import { captureStatus } from '../../workers/job-state.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { exitCodeForCaptures } from './capture.js';
import { out, withServices } from './common.js';

export async function statusCommand(config: Config, ids: string[], json: boolean): Promise<ExitCode> {
  return withServices(config, async (s) => {
    const statuses = await Promise.all(ids.map((id) => captureStatus(s, id)));
    if (json) out(JSON.stringify(statuses, null, 2));
    else
      for (const st of statuses) {
        const progress = st.progress && st.state !== 'sealed' ? ` ${st.progress.percent}% ${st.progress.stage}` : '';
        const why = st.failure ? ` — ${st.failure.code}: ${st.failure.message}` : '';
        out(`${st.captureId}  ${st.state}${progress}${st.result ? ` page=${st.result.status} manifest=${st.result.manifestDigest}` : ''}  ${st.url ?? ''}${why}`);
      }
    if (statuses.some((st) => st.state === 'unknown')) return EXIT.NOT_FOUND;
    return exitCodeForCaptures([], statuses);
  });
}
