/** The child side of bench/lib/child.ts: events as JSON lines on fd 3. */
import { writeSync } from 'node:fs';

const FD = 3;

export interface ChildIO {
  progress(done: number, total: number, label?: string): void;
  /** Bracket the measured part (memory is sampled between the marks). */
  mark(mark: 'start' | 'end'): void;
}

export function emit(event: Record<string, unknown>): void {
  writeSync(FD, `${JSON.stringify(event)}\n`);
}

export const childIO: ChildIO = {
  progress: (done, total, label) => emit({ event: 'progress', done, total, ...(label ? { label } : {}) }),
  mark: (mark) => emit({ event: 'mark', mark }),
};

export type ChildTask<P, R> = (params: P, io: ChildIO) => Promise<R>;
