/**
 * Shared parts of the fuzz (property) tests in test/unit/fuzz/: how many runs, reproducible seeds,
 * and byte mutations of real inputs. `./exhibit test` runs each property a bounded number of times;
 * `./exhibit bench fuzz --runs N` runs the same files with EXHIBIT_FUZZ_RUNS=N.
 */
import fc from 'fast-check';
import { ExhibitError } from '../../lib/errors.js';

/**
 * Runs for one property: its default in `./exhibit test`, or EXHIBIT_FUZZ_RUNS (the bench's
 * `--runs`), scaled by `cost` for properties whose single run is much slower than the others.
 */
export function fuzzRuns(defaultRuns: number, cost = 1): number {
  const asked = Number(process.env.EXHIBIT_FUZZ_RUNS);
  if (Number.isInteger(asked) && asked > 0) return Math.max(1, Math.round(asked / cost));
  return defaultRuns;
}

/** fast-check parameters: the run count, and EXHIBIT_FUZZ_SEED to replay a reported failure. */
export function fuzzParams<T>(defaultRuns: number, cost = 1): fc.Parameters<T> {
  const seed = Number(process.env.EXHIBIT_FUZZ_SEED);
  return { numRuns: fuzzRuns(defaultRuns, cost), ...(Number.isInteger(seed) ? { seed } : {}) };
}

/** Vitest timeout for a property: generous, as the bench may ask for many runs on a loaded machine. */
export function fuzzTimeout(defaultRuns: number, msPerRun: number, cost = 1): number {
  return Math.max(30_000, fuzzRuns(defaultRuns, cost) * msPerRun * 4);
}

type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; length: number }
  | { op: 'duplicate'; at: number; length: number }
  | { op: 'truncate'; at: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: fc.constantFrom(0x00, 0xff, 0x7f, 0x80, 0x0a, 0x22, 0x3c, 0x25) }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 256 }) }),
  fc.record({ op: fc.constant('duplicate' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 256 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
);

function apply(bytes: Buffer, m: Mutation): Buffer {
  if (bytes.length === 0) return m.op === 'insert' ? Buffer.from(m.bytes) : bytes;
  const at = m.at % bytes.length;
  switch (m.op) {
    case 'flip': {
      const out = Buffer.from(bytes);
      out[at] = out[at]! ^ (1 << m.bit);
      return out;
    }
    case 'set': {
      const out = Buffer.from(bytes);
      out[at] = m.value;
      return out;
    }
    case 'insert':
      return Buffer.concat([bytes.subarray(0, at), m.bytes, bytes.subarray(at)]);
    case 'delete':
      return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + m.length)]);
    case 'duplicate':
      return Buffer.concat([bytes.subarray(0, at + m.length), bytes.subarray(at, at + m.length), bytes.subarray(at + m.length)]);
    case 'truncate':
      return bytes.subarray(0, at);
  }
}

/**
 * 1 to `max` random byte mutations (bit flips, byte sets, inserts, deletes, duplicated ranges,
 * truncation), to apply to a seed with {@link applyMutations}. The property takes the mutations, not
 * the bytes, so a failure reports a short list of edits rather than a whole file.
 */
export function mutations(max = 4): fc.Arbitrary<Mutation[]> {
  return fc.array(mutation, { minLength: 1, maxLength: max });
}

export function applyMutations(seed: Buffer, ms: readonly Mutation[]): Buffer {
  return ms.reduce(apply, seed);
}

export type { Mutation };

/** The failure a fuzzed parser may throw: one of ours (a code and a message), never a TypeError or RangeError from deep inside. */
export function isClearError(err: unknown): err is ExhibitError {
  return err instanceof ExhibitError && typeof err.code === 'string' && err.message.trim().length > 0;
}
