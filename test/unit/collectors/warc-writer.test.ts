import { describe, expect, it } from 'vitest';
import { httpHeaderEnd } from '../../../collectors/browser/warc-writer.js';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('httpHeaderEnd (where the WARC payload starts)', () => {
  it('finds the end of a CRLF header block', () => {
    const msg = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi';
    expect(httpHeaderEnd(bytes(msg))).toBe(msg.length - 2);
  });

  it('accepts bare LF line ends, as lenient parsers do', () => {
    const msg = 'HTTP/1.1 200 OK\nA: b\n\nbody';
    expect(httpHeaderEnd(bytes(msg))).toBe(msg.length - 4);
  });

  it('stops at the first empty line (chunked body after it)', () => {
    const msg = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n';
    expect(httpHeaderEnd(bytes(msg))).toBe(msg.indexOf('5\r\n'));
  });

  it('returns null for an incomplete header block', () => {
    expect(httpHeaderEnd(bytes('HTTP/1.1 200 OK\r\nA: b\r\n'))).toBeNull();
    expect(httpHeaderEnd(bytes(''))).toBeNull();
  });
});
