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

/** One record `warcio check` fails, as Python warcio sees it. */
export interface WarcioFailure {
  offset: number;
  type: string;
  uri: string | null;
  /** The HTTP message says `Transfer-Encoding: chunked`. */
  chunked: boolean;
  problems: string[];
}

/**
 * The records Python warcio's `check` fails, read the way `warcio check` reads them. warcio 1.8
 * takes the payload digest over the chunked bytes, so WARC 1.1 payload digests of chunked responses
 * (what Exhibit writes) show up here as `payload digest failed`; anything else is a real failure.
 */
export async function warcioCheckFailures(file: string): Promise<WarcioFailure[]> {
  const code = [
    'import sys, json',
    'from warcio.archiveiterator import ArchiveIterator',
    'with open(sys.argv[1], "rb") as f:',
    '  it = ArchiveIterator(f, check_digests=True)',
    '  for r in it:',
    '    s = r.content_stream()',
    '    while s.read(1 << 20): pass',
    '    if r.digest_checker.passed is False:',
    '      te = r.http_headers.get_header("transfer-encoding") if r.http_headers else None',
    '      print(json.dumps({"offset": it.get_record_offset(), "type": r.rec_type, "uri": r.rec_headers.get_header("WARC-Target-URI"), "chunked": (te or "").lower() == "chunked", "problems": list(r.digest_checker.problems)}))',
  ].join('\n');
  const out = await python(code, [file]);
  return out
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as WarcioFailure);
}
