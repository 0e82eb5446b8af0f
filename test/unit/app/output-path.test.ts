import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../../lib/errors.js';
import { writeErrorsAsInput } from '../../../app/commands/output-path.js';

const errno = (code: string, p: string) => Object.assign(new Error(`${code}: failed, open '${p}'`), { code, syscall: 'open', path: p });

describe('writeErrorsAsInput', () => {
  it('turns a file-system error on the package being written into INVALID_INPUT naming the -o path', async () => {
    const out = '/srv/packages/case.zip';
    const e = await writeErrorsAsInput(out, () => Promise.reject(errno('ENOSPC', `${out}.partial-123`))).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(PermanentError);
    expect((e as PermanentError).code).toBe('INVALID_INPUT');
    expect((e as Error).message).toContain(out);
    expect((e as Error).message).toContain('ENOSPC');
  });

  it('leaves other failures alone (the store, another file)', async () => {
    const other = errno('EACCES', '/var/lib/exhibit/store/x');
    await expect(writeErrorsAsInput('/srv/packages/case.zip', () => Promise.reject(other))).rejects.toBe(other);
    await expect(writeErrorsAsInput('/srv/packages/case.zip', async () => 42)).resolves.toBe(42);
  });
});
