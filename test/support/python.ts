import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The Python with `bagit` and `warcio` (set by ./exhibit test), else python3 from PATH. */
export const PYTHON = process.env.EXHIBIT_PYTHON || 'python3';

/** Run a Python snippet; resolves with stdout, rejects with stderr in the message. */
export async function python(code: string, args: string[] = []): Promise<string> {
  try {
    const { stdout } = await run(PYTHON, ['-c', code, ...args], { maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`python failed: ${e.stderr || e.message}`);
  }
}
