import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseUrlList, readUrlList } from '../../../lib/url-list.js';

describe('URL lists (capture --file)', () => {
  it('keeps one URL per line, dropping blanks, comments and surrounding space, CRLF or LF', () => {
    expect(parseUrlList('https://a.example/1\r\n\r\n  # a comment\n  https://b.example/2  \n#x\nhttps://c.example/3')).toEqual(['https://a.example/1', 'https://b.example/2', 'https://c.example/3']);
  });

  it('reads a file, and names the file when it cannot', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'urls-'));
    const file = path.join(dir, 'urls.txt');
    writeFileSync(file, 'https://a.example/\n');
    expect(await readUrlList(file)).toEqual(['https://a.example/']);
    await expect(readUrlList(path.join(dir, 'missing.txt'))).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringContaining('missing.txt') });
  });
});
