import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, closeSync, constants as fsConstants, copyFileSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
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

describe('FsStore.putFile: reflink when the filesystem can, streaming copy otherwise; never a shared inode', () => {
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

  const digestsOf = (b: Buffer) => ({ sha256: `sha256:${createHash('sha256').update(b).digest('hex')}`, sha512: `sha512:${createHash('sha512').update(b).digest('hex')}`, size: b.length });
  const blobPath = (key: string) => path.join(dir, 'sha256', key.slice(7, 9), key.slice(7));
  /** Rewrite the spool file in place, as a writer still holding it (or reopening it with O_TRUNC) would. */
  const rewriteInPlace = (p: string) => {
    const fd = openSync(p, 'r+');
    try {
      writeSync(fd, Buffer.from('TAMPERED AFTER SEALING'), 0, 22, 0);
    } finally {
      closeSync(fd);
    }
  };

  // Small (serial hashing) and large (SHA-512 on the worker, early fdatasync) inputs.
  for (const size of [100_000, 20 * 1024 * 1024 + 7]) {
    it(`${size} bytes, clone path: the clone itself is hashed and stored, and a later write to the spool cannot reach it`, async () => {
      const clones: string[] = [];
      const store = await FsStore.open(dir, {
        cloneFile: async (src, dest) => {
          clones.push(dest);
          copyFileSync(src, dest, fsConstants.COPYFILE_EXCL);
        },
      });
      const p = path.join(work, 'clip.mp4');
      const bytes = randomBytes(size);
      writeFileSync(p, bytes);
      const blob = await store.putFile(p);
      expect(clones).toHaveLength(1);
      expect(path.dirname(clones[0]!)).toBe(path.join(dir, '.tmp'));
      expect(blob).toMatchObject({ ...digestsOf(bytes), created: true });
      rewriteInPlace(p);
      expect(readFileSync(blobPath(blob.key)).equals(bytes)).toBe(true);
      expect(statSync(blobPath(blob.key)).ino).not.toBe(statSync(p).ino);
      expect(readdirSync(path.join(dir, '.tmp'))).toEqual([]);
    });

    it(`${size} bytes, copy path (the clone fails): bytes and digests right, independent of the spool`, async () => {
      let tried = 0;
      const store = await FsStore.open(dir, {
        cloneFile: async () => {
          tried++;
          throw Object.assign(new Error('Operation not supported'), { code: 'EOPNOTSUPP' });
        },
      });
      const p = path.join(work, 'clip.mp4');
      const bytes = randomBytes(size);
      writeFileSync(p, bytes);
      const blob = await store.putFile(p);
      expect(tried).toBe(1);
      expect(blob).toMatchObject({ ...digestsOf(bytes), created: true });
      // A filesystem that cannot clone is not asked again.
      writeFileSync(path.join(work, 'other'), 'other');
      await store.putFile(path.join(work, 'other'));
      expect(tried).toBe(1);
      rewriteInPlace(p);
      expect(readFileSync(blobPath(blob.key)).equals(bytes)).toBe(true);
      expect(statSync(blobPath(blob.key)).ino).not.toBe(statSync(p).ino);
      expect(statSync(blobPath(blob.key)).mode & 0o777).toBe(0o444);
      expect(readdirSync(path.join(dir, '.tmp'))).toEqual([]);
    });
  }

  it('digests are those of the bytes stored, not of the source path: a clone that differs is caught by expectSha256', async () => {
    const store = await FsStore.open(dir, {
      cloneFile: async (_src, dest) => writeFileSync(dest, 'what the filesystem really stored', { flag: 'wx' }),
    });
    const p = path.join(work, 'f');
    writeFileSync(p, 'what the collector wrote');
    const want = digestsOf(Buffer.from('what the collector wrote'));
    await expect(store.putFile(p, { expectSha256: want.sha256 })).rejects.toMatchObject({ code: 'HASH_MISMATCH' });
    const blob = await store.putFile(p);
    expect(blob).toMatchObject(digestsOf(Buffer.from('what the filesystem really stored')));
    expect(readFileSync(blobPath(blob.key), 'utf8')).toBe('what the filesystem really stored');
  });

  it('the default (a real reflink attempt) stores the right bytes on this filesystem whichever path it takes', async () => {
    const store = await FsStore.open(dir);
    const p = path.join(work, 'f');
    const bytes = randomBytes(300_000);
    writeFileSync(p, bytes);
    const blob = await store.putFile(p);
    expect(blob).toMatchObject(digestsOf(bytes));
    rewriteInPlace(p);
    expect(readFileSync(blobPath(blob.key)).equals(bytes)).toBe(true);
    expect(statSync(blobPath(blob.key)).ino).not.toBe(statSync(p).ino);
  });
});
