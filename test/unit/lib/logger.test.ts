import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { childLogger, createLogger, type LogFormat } from '../../../lib/logger.js';

function sink(isTTY: boolean): { stream: Writable & { isTTY?: boolean }; text(): string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  }) as Writable & { isTTY?: boolean };
  stream.isTTY = isTTY;
  return { stream, text: () => chunks.join('') };
}

const logger = (isTTY: boolean, format?: LogFormat) => {
  const s = sink(isTTY);
  return { log: createLogger('info', { stream: s.stream, ...(format ? { format } : {}) }), text: s.text };
};

/** Keys of one JSON line, as written (JSON.parse would hide a duplicate). */
const rawKeys = (line: string) => [...line.matchAll(/"([A-Za-z]+)":/g)].map((m) => m[1]);

describe('logger', () => {
  it('a child of a child that binds context again writes one context key, the inner one', () => {
    const { log, text } = logger(false);
    const worker = childLogger(log, 'worker', { stage: 'watch' });
    childLogger(worker, 'collector', { captureId: 'c1' }).info('hello');
    worker.child({ context: 'worker', watchId: 'w1' }).warn('again');
    const [a, b] = text().trim().split('\n');
    expect(rawKeys(a!).filter((k) => k === 'context')).toHaveLength(1);
    expect(JSON.parse(a!)).toMatchObject({ context: 'collector', stage: 'watch', captureId: 'c1', msg: 'hello' });
    expect(rawKeys(b!).filter((k) => k === 'context')).toHaveLength(1);
    expect(JSON.parse(b!)).toMatchObject({ context: 'worker', watchId: 'w1' });
  });

  it('a call naming a bound key writes it once, with the call value', () => {
    const { log, text } = logger(false);
    childLogger(log, 'worker').warn({ context: 'redis', err: 'x' }, 'connection error');
    const line = text().trim();
    expect(rawKeys(line).filter((k) => k === 'context')).toHaveLength(1);
    expect(JSON.parse(line)).toMatchObject({ context: 'redis', err: 'x', msg: 'connection error', level: 40 });
  });

  it('on a terminal (auto) lines are human, never JSON; off a terminal, or when asked, JSON', () => {
    const tty = logger(true);
    childLogger(tty.log, 'custody').warn({ caseId: 'C-1', copied: 2 }, 'custody events copied');
    expect(tty.text()).toMatch(/^\d\d:\d\d:\d\d warn custody: custody events copied {2}caseId=C-1 copied=2\n$/);
    expect(tty.text()).not.toContain('{');

    const pipe = logger(false);
    pipe.log.info('x');
    expect(JSON.parse(pipe.text())).toMatchObject({ msg: 'x' });

    const asked = logger(true, 'json');
    asked.log.info('y');
    expect(JSON.parse(asked.text())).toMatchObject({ msg: 'y' });

    const forced = logger(false, 'human');
    forced.log.error({ err: new Error('boom') }, 'failed');
    expect(forced.text()).toMatch(/ error: failed {2}err=/);
  });
});
