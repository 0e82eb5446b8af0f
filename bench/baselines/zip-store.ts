/** The packaging baseline: copy files into a zip with no compression (yazl, store only). */
import { createWriteStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import yazl from 'yazl';
import type { ChildIO } from '../lib/child-io.js';

async function listFiles(root: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(path.join(root, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(root, r)));
    else if (e.isFile()) out.push(r);
  }
  return out.sort();
}

/** Zip every file under `dir` (store only) into `out`; the walk and the copy are both timed. */
export async function bareZip(p: { dir: string; out: string }, io: ChildIO): Promise<{ elapsedMs: number; files: number; bytes: number }> {
  io.mark('start');
  const t0 = performance.now();
  const files = await listFiles(p.dir);
  const zip = new yazl.ZipFile();
  const written = pipeline(zip.outputStream, createWriteStream(p.out, { flags: 'wx' }));
  for (const f of files) zip.addFile(path.join(p.dir, f), f, { compress: false });
  zip.end();
  await written;
  const elapsedMs = performance.now() - t0;
  io.mark('end');
  return { elapsedMs, files: files.length, bytes: (await stat(p.out)).size };
}
