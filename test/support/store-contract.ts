import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EvidenceStore } from '../../evidence/store.js';

export interface StoreUnderTest {
  store: EvidenceStore;
  cleanup(): Promise<void>;
}

/** The real coreutils digests of a file, as `sha256:<hex>` / `sha512:<hex>`. */
export function coreutilsDigests(file: string): { sha256: string; sha512: string } {
  const sum = (tool: string) => execFileSync(tool, [file], { encoding: 'utf8' }).split(/\s+/)[0]!;
  return { sha256: `sha256:${sum('sha256sum')}`, sha512: `sha512:${sum('sha512sum')}` };
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
}

/** Assert a promise rejects with one of our errors, matched by name and code (as across processes). */
async function expectError(p: Promise<unknown>, name: string, code: string): Promise<Error> {
  const err = await p.then(
    () => null,
    (e: unknown) => e as Error,
  );
  expect(err, `expected ${name} ${code}, but it resolved`).not.toBeNull();
  expect({ name: err!.name, code: (err as { code?: string }).code }).toEqual({ name, code });
  return err!;
}

const BAD_KEYS = ['../escape', 'cases/../../escape', '/etc/passwd', 'cases\\x', 'cases/\u0000x', '', 'cases//x', './cases/x', 'cases/./x', 'cases/..'];

/**
 * The evidence store contract: every EvidenceStore implementation must pass it unchanged.
 * `makeStore` gives a fresh, empty store for each test.
 */
export function describeStoreContract(name: string, makeStore: () => Promise<StoreUnderTest>): void {
  describe(`EvidenceStore contract: ${name}`, () => {
    let sut: StoreUnderTest;
    let store: EvidenceStore;
    let work: string;

    beforeEach(async () => {
      sut = await makeStore();
      store = sut.store;
      work = mkdtempSync(path.join(os.tmpdir(), 'exhibit-contract-'));
    });
    afterEach(async () => {
      await store.close?.();
      await sut.cleanup();
      rmSync(work, { recursive: true, force: true });
    });

    function file(nameInWork: string, bytes: Buffer): string {
      const p = path.join(work, nameInWork);
      writeFileSync(p, bytes);
      return p;
    }

    it('putFile then get/getBytes returns the bytes unchanged, under sha256/<hex>', async () => {
      const bytes = randomBytes(3 * 1024 * 1024 + 17);
      const p = file('a.bin', bytes);
      const blob = await store.putFile(p, { contentType: 'application/octet-stream' });
      expect(blob.created).toBe(true);
      expect(blob.size).toBe(bytes.length);
      expect(blob.key).toBe(`sha256/${blob.sha256.slice('sha256:'.length)}`);
      expect((await readAll(await store.get(blob.key))).equals(bytes)).toBe(true);
      expect((await store.getBytes(blob.key)).equals(bytes)).toBe(true);
      expect(await store.stat(blob.key)).toEqual({ size: bytes.length });
    });

    it('digests equal sha256sum and sha512sum, for small, empty and large (parallel-hash) files', async () => {
      for (const [n, size] of [['empty', 0], ['small', 1000], ['large', 20 * 1024 * 1024 + 3]] as const) {
        const p = file(`${n}.bin`, randomBytes(size));
        const blob = await store.putFile(p);
        const want = coreutilsDigests(p);
        expect({ sha256: blob.sha256, sha512: blob.sha512, size: blob.size }, n).toEqual({ ...want, size });
        // What comes back out hashes the same with the real tools too.
        const back = file(`${n}.back`, await store.getBytes(blob.key));
        expect(coreutilsDigests(back), n).toEqual(want);
      }
    });

    it('putBytes stores content-addressed blobs that agree with putFile', async () => {
      const bytes = Buffer.from('{"hello":"world"}');
      const a = await store.putBytes(bytes, { contentType: 'application/json' });
      const b = await store.putFile(file('same.json', bytes));
      expect(a.created).toBe(true);
      expect(b).toEqual({ ...a, created: false });
      expect(a).toMatchObject(coreutilsDigests(path.join(work, 'same.json')));
    });

    it('re-putting the same content is idempotent: created false, one object', async () => {
      const p = file('x.bin', randomBytes(4096));
      const first = await store.putFile(p);
      const second = await store.putFile(p);
      const third = await store.putBytes(await store.getBytes(first.key));
      expect(first.created).toBe(true);
      expect(second).toEqual({ ...first, created: false });
      expect(third).toEqual({ ...first, created: false });
      expect(await store.list('sha256/')).toEqual([first.key]);
    });

    it('putRecord is write-once: identical bytes are a no-op, different bytes a STORE_CONFLICT naming the key', async () => {
      const key = 'cases/C-1/captures/abc/manifest.json';
      const v1 = Buffer.from('{"v":1}');
      const first = await store.putRecord(key, v1, { contentType: 'application/json' });
      expect(first.created).toBe(true);
      // A versioned store names the version written; writing the same bytes again names that same version.
      expect(await store.putRecord(key, Buffer.from(v1))).toEqual({ ...first, created: false });
      const err = await expectError(store.putRecord(key, Buffer.from('{"v":2}')), 'IntegrityError', 'STORE_CONFLICT');
      expect(err.message).toContain(key);
      expect((await store.getBytes(key)).equals(v1)).toBe(true);
      // Same length, one byte different: still a conflict.
      await expectError(store.putRecord(key, Buffer.from('{"v":3}')), 'IntegrityError', 'STORE_CONFLICT');
      expect((await store.getBytes(key)).equals(v1)).toBe(true);
    });

    it('refuses keys that could escape or alias (.., absolute, backslash, NUL, empty segments)', async () => {
      await store.putRecord('cases/ok', Buffer.from('ok'));
      for (const key of BAD_KEYS) {
        await expectError(store.putRecord(key, Buffer.from('evil')), 'PermanentError', 'INVALID_INPUT');
        await expectError(store.getBytes(key), 'PermanentError', 'INVALID_INPUT');
        await expectError(store.get(key), 'PermanentError', 'INVALID_INPUT');
        await expectError(store.stat(key), 'PermanentError', 'INVALID_INPUT');
      }
      await expectError(store.list('../'), 'PermanentError', 'INVALID_INPUT');
      // Records cannot be planted in the content-addressed namespace.
      await expectError(store.putRecord(`sha256/${'0'.repeat(64)}`, Buffer.from('x')), 'PermanentError', 'INVALID_INPUT');
      expect(await store.list('')).toEqual(['cases/ok']);
    });

    it('get/getBytes of a missing key is NOT_FOUND; stat is null', async () => {
      const missing = `sha256/${'a'.repeat(64)}`;
      await expectError(store.get(missing), 'PermanentError', 'NOT_FOUND');
      await expectError(store.getBytes('cases/none/manifest.json'), 'PermanentError', 'NOT_FOUND');
      expect(await store.stat(missing)).toBeNull();
      expect(await store.stat('cases/none')).toBeNull();
    });

    it('list returns every key under a prefix, recursively and sorted', async () => {
      const keys = ['cases/B/captures/2/manifest.json', 'cases/A/custody/0001.json', 'cases/A/captures/1/manifest.json', 'cases/AA/x', 'other/q'];
      for (const k of keys) await store.putRecord(k, Buffer.from(k));
      const blob = await store.putBytes(Buffer.from('blob'));
      expect(await store.list('cases/')).toEqual(['cases/A/captures/1/manifest.json', 'cases/A/custody/0001.json', 'cases/AA/x', 'cases/B/captures/2/manifest.json']);
      expect(await store.list('cases/A/')).toEqual(['cases/A/captures/1/manifest.json', 'cases/A/custody/0001.json']);
      expect(await store.list('cases/A')).toEqual(['cases/A/captures/1/manifest.json', 'cases/A/custody/0001.json', 'cases/AA/x']);
      expect(await store.list('nothing/')).toEqual([]);
      expect(await store.list('sha256/')).toEqual([blob.key]);
      expect(await store.list(blob.key.slice(0, 12))).toEqual([blob.key]);
      expect(await store.list('')).toEqual([...keys, blob.key].sort());
    });

    it('expectSha256 mismatch is HASH_MISMATCH and stores nothing', async () => {
      const bytes = randomBytes(10_000);
      const p = file('m.bin', bytes);
      const wrong = `sha256:${'0'.repeat(64)}`;
      await expectError(store.putFile(p, { expectSha256: wrong }), 'IntegrityError', 'HASH_MISMATCH');
      expect(await store.list('')).toEqual([]);
      const right = coreutilsDigests(p).sha256;
      const ok = await store.putFile(p, { expectSha256: right });
      expect(ok.sha256).toBe(right);
      await expectError(store.putFile(p, { expectSha256: 'md5:abc' }), 'PermanentError', 'INVALID_INPUT');
    });

    it('concurrent puts of the same blob converge on one object, exactly one created', async () => {
      const bytes = randomBytes(2 * 1024 * 1024);
      const paths = [0, 1, 2, 3, 4].map((i) => file(`c${i}.bin`, bytes));
      const results = await Promise.all([...paths.map((p) => store.putFile(p)), store.putBytes(bytes)]);
      expect(new Set(results.map((r) => r.key)).size).toBe(1);
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(await store.list('sha256/')).toEqual([results[0]!.key]);
      expect((await store.getBytes(results[0]!.key)).equals(bytes)).toBe(true);
    });

    it('concurrent putRecord on one key: one writer wins, the others conflict or no-op, the winner is intact', async () => {
      const key = 'cases/C-1/custody/000001.json';
      const outcomes = await Promise.allSettled(['a', 'b', 'c', 'a'].map((v) => store.putRecord(key, Buffer.from(`{"v":"${v}"}`))));
      const created = outcomes.filter((o) => o.status === 'fulfilled' && o.value.created);
      expect(created).toHaveLength(1);
      for (const o of outcomes) {
        if (o.status === 'rejected') expect((o.reason as { code?: string }).code).toBe('STORE_CONFLICT');
      }
      const stored = (await store.getBytes(key)).toString();
      expect(['{"v":"a"}', '{"v":"b"}', '{"v":"c"}']).toContain(stored);
      // Whatever won, a second writer of different bytes always conflicts afterwards.
      await expectError(store.putRecord(key, Buffer.from('{"v":"z"}')), 'IntegrityError', 'STORE_CONFLICT');
    });
  });
}
