import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { readJsonFile, writeJsonFile } from '../../../lib/json-file.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'exhibit-json-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const Doc = z.object({ schemaVersion: z.literal('t/1'), names: z.array(z.string()) });

describe('JSON state files', () => {
  it('a file not there yet reads as null; one written reads back through its schema, with no temporary left', async () => {
    const file = path.join(dir, 'a', 'doc.json');
    expect(await readJsonFile(file, Doc, 'test file')).toBeNull();
    await writeJsonFile(file, { schemaVersion: 't/1', names: ['وكالة', 'agency-b'] });
    expect(await readJsonFile(file, Doc, 'test file')).toEqual({ schemaVersion: 't/1', names: ['وكالة', 'agency-b'] });
    expect(readdirSync(path.dirname(file))).toEqual(['doc.json']);
  });
  it('a file that is there but does not parse, or breaks the schema, is a configuration error naming it', async () => {
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, '{"schemaVersion": "t/1", "names": [');
    await expect(readJsonFile(bad, Doc, 'test file')).rejects.toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringContaining(`test file ${bad} is not valid`) });
    writeFileSync(bad, '{"schemaVersion": "t/2", "names": []}');
    await expect(readJsonFile(bad, Doc, 'test file')).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
  });
});
