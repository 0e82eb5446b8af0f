/**
 * `fn` over `items` with at most `limit` calls running at once; results in input order. The first
 * rejection rejects the whole call once the calls already running have settled (none is left
 * running behind the caller's back), and no new call starts after it.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  let firstError: unknown;
  const lane = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i]!, i);
      } catch (err) {
        if (!failed) firstError = err;
        failed = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  if (failed) throw firstError;
  return results;
}

/**
 * A counting semaphore whose waiters can give up through an AbortSignal: for work that is not one
 * list (see {@link mapLimit} for that), e.g. browser contexts taken by captures as they come.
 */
export class Semaphore {
  private available: number;
  private readonly waiters: Array<{ grant: () => void }> = [];
  constructor(size: number) {
    this.available = size;
  }
  /** Callers waiting for a slot. */
  get waiting(): number {
    return this.waiters.length;
  }
  /** Take a slot, waiting for one if none is free; resolves with the function that gives it back (once). */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    signal?.throwIfAborted();
    if (this.available > 0) {
      this.available -= 1;
      return this.releaser();
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(this.releaser());
        },
      };
      const onAbort = (): void => {
        const i = this.waiters.indexOf(waiter);
        if (i !== -1) this.waiters.splice(i, 1);
        reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted while waiting for a slot'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }
  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      if (next) next.grant();
      else this.available += 1;
    };
  }
}
