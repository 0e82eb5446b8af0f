import cliProgress from 'cli-progress';

export interface ProgressView {
  /** `stage` is what is happening (`hashing`, `packaging`); `detail` the item it is at (a file name). */
  update(key: string, percent: number, stage: string, detail?: string): void;
  done(key: string, label: string): void;
  stop(): void;
}

/**
 * One bar per capture on a terminal; on a pipe or in CI, one line per stage change (bars, and a
 * line per packaged file, would only be noise in a log file).
 */
export function progressView(stream: NodeJS.WriteStream = process.stderr): ProgressView {
  if (!stream.isTTY) {
    const last = new Map<string, string>();
    const line = (key: string, text: string) => {
      if (last.get(key) === text) return;
      last.set(key, text);
      stream.write(`${key.slice(0, 13)}… ${text}\n`);
    };
    return {
      update: (key, _percent, stage) => line(key, stage),
      done: (key, label) => line(key, `done: ${label}`),
      stop: () => undefined,
    };
  }
  const multi = new cliProgress.MultiBar(
    { stream, format: ' {bar} {percentage}% | {key} | {label}', hideCursor: true, clearOnComplete: false, barsize: 28, autopadding: true },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<string, cliProgress.SingleBar>();
  const bar = (key: string) => {
    let b = bars.get(key);
    if (!b) {
      b = multi.create(100, 0, { key: key.slice(0, 13), label: 'queued' });
      bars.set(key, b);
    }
    return b;
  };
  return {
    update: (key, percent, stage, detail) => bar(key).update(Math.round(percent), { label: detail ? `${stage}: ${detail.slice(0, 40)}` : stage }),
    done: (key, label) => bar(key).update(100, { label }),
    stop: () => multi.stop(),
  };
}
