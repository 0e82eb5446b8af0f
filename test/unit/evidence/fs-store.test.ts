import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsStore } from '../../../evidence/fs-store.js';
import { openStore } from '../../../evidence/open-store.js';
import { configFrom } from '../../../lib/config.js';
import { describeStoreContract } from '../../support/store-contract.js';

describeStoreContract('FsStore', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'exhibit-fsstore-'));
  return { store: await FsStore.open(dir), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
});

describe('FsStore on disk', () => {
  let dir: string;
  let work: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'exhibit-fsstore-'));
    work = mkdtempSync(path.join(os.tmpdir(), 'exhibit-fswork-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it('fans blobs out by the first two hex digits, keeps keys sha256/<hex>, and makes files read-only', async () => {
    const store = await FsStore.open(dir);
    const p = path.join(work, 'f');
    writeFileSync(p, 'evidence');
    const blob = await store.putFile(p);
    const hex = blob.key.slice(7);
    const onDisk = path.join(dir, 'sha256', hex.slice(0, 2), hex);
    expect(statSync(onDisk).mode & 0o777).toBe(0o444);
    await store.putRecord('cases/C/x.json', Buffer.from('{}'));
    expect(statSync(path.join(dir, 'cases', 'C', 'x.json')).mode & 0o777).toBe(0o444);
    expect(await store.list('sha256/')).toEqual([blob.key]);
  });

  it('leaves no temp files behind, also after a HASH_MISMATCH', async () => {
    const store = await FsStore.open(dir);
    const p = path.join(work, 'f');
    writeFileSync(p, randomBytes(100_000));
    await store.putFile(p);
    await expect(store.putFile(p, { expectSha256: `sha256:${'1'.repeat(64)}` })).rejects.toMatchObject({ code: 'HASH_MISMATCH' });
    await store.putRecord('cases/r', Buffer.from('r'));
    await expect(store.putRecord('cases/r', Buffer.from('s'))).rejects.toMatchObject({ code: 'STORE_CONFLICT' });
    expect(readdirSync(path.join(dir, '.tmp'))).toEqual([]);
    expect(await store.list('')).not.toContain('.tmp');
  });

  it('reports a damaged store: an existing blob of the wrong size is a STORE_CONFLICT, never replaced', async () => {
    const store = await FsStore.open(dir);
    const p = path.join(work, 'f');
    writeFileSync(p, 'original bytes');
    const blob = await store.putFile(p);
    const onDisk = path.join(dir, 'sha256', blob.key.slice(7, 9), blob.key.slice(7));
    chmodSync(onDisk, 0o644);
    writeFileSync(onDisk, 'tampered');
    await expect(store.putFile(p)).rejects.toMatchObject({ name: 'IntegrityError', code: 'STORE_CONFLICT' });
    expect((await store.getBytes(blob.key)).toString()).toBe('tampered');
  });

  it('refuses a directory or a missing file as putFile input', async () => {
    const store = await FsStore.open(dir);
    await expect(store.putFile(work)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(store.putFile(path.join(work, 'nope'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('traversal attempts write nothing outside the store root', async () => {
    const root = path.join(dir, 'root');
    const store = await FsStore.open(root);
    await expect(store.putRecord('../outside', Buffer.from('x'))).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(store.putRecord('a/../../outside', Buffer.from('x'))).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    expect(existsSync(path.join(dir, 'outside'))).toBe(false);
    expect(readdirSync(dir)).toEqual(['root']);
  });

  it('openStore builds an FsStore from config', async () => {
    const cfg = configFrom({ stateDir: dir, store: { kind: 'fs', fsRoot: 'store' } });
    const store = await openStore(cfg.store);
    expect(store.kind).toBe('fs');
    expect(store.location).toBe(path.join(dir, 'store'));
  });
});
