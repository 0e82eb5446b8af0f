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

/** py-wacz's `wacz validate -f <file>`, entered as its `wacz` command is (`python -m wacz` always exits 0): exit status and what it printed. */
export async function waczValidate(file: string): Promise<{ ok: boolean; output: string }> {
  const cli = 'import sys\nfrom wacz.main import main\nsys.argv[0] = "wacz"\nsys.exit(main())';
  return run(PYTHON, ['-c', cli, 'validate', '-f', file], { maxBuffer: 16 * 1024 * 1024 }).then( // spawns: python3
    (r) => ({ ok: true, output: r.stdout + r.stderr }),
    (e: { stdout?: string; stderr?: string }) => ({ ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` }),
  );
}
