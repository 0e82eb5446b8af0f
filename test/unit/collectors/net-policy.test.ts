import { describe, expect, it } from 'vitest';
import { checkAddress, classifyAddress, resolveAndCheck, validatePolicy, type AddressClass, type LookupFn } from '../../../collectors/browser/net-policy.js';
import { PermanentError, TransientError } from '../../../lib/errors.js';

function thrown(fn: () => unknown): { name: string; code: string; message: string } {
  try {
    fn();
  } catch (err) {
    const e = err as PermanentError;
    return { name: e.name, code: e.code, message: e.message };
  }
  throw new Error('expected a throw');
}

async function rejected(p: Promise<unknown>): Promise<{ name: string; code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as PermanentError;
    return { name: e.name, code: e.code, message: e.message };
  }
  throw new Error('expected a rejection');
}

describe('classifyAddress', () => {
  const table: Array<[string, AddressClass]> = [
    ['93.184.216.34', 'public'],
    ['8.8.8.8', 'public'],
    ['10.0.0.5', 'private'],
    ['172.16.3.4', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.1', 'public'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'carrier-grade-nat'],
    ['100.127.255.254', 'carrier-grade-nat'],
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['192.0.2.10', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['240.0.0.1', 'reserved'],
    ['2606:4700::1111', 'public'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['fec0::1', 'private'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['::ffff:10.1.2.3', 'private'],
    ['::ffff:8.8.8.8', 'public'],
    ['::127.0.0.1', 'loopback'],
    ['64:ff9b::127.0.0.1', 'loopback'],
    ['64:ff9b::a9fe:a9fe', 'link-local'],
    ['64:ff9b::8.8.8.8', 'public'],
    ['64:ff9b:1::1', 'private'],
    ['2002:7f00:1::', 'loopback'],
    ['2002:0808:0808::', 'public'],
    ['2001:db8::1', 'reserved'],
    ['2001:0:4136:e378::1', 'reserved'],
  ];
  it.each(table)('%s is %s', (ip, cls) => {
    expect(classifyAddress(ip)).toBe(cls);
  });

  it('refuses what is not an IP address', () => {
    expect(thrown(() => classifyAddress('example.org')).code).toBe('INVALID_INPUT');
    expect(thrown(() => classifyAddress('999.1.1.1')).code).toBe('INVALID_INPUT');
  });
});

describe('checkAddress', () => {
  it('blocks non-public addresses and names the address and its class', () => {
    const e = thrown(() => checkAddress({ allowPrivateNetwork: false }, '10.0.0.5'));
    expect(e).toMatchObject({ name: 'PermanentError', code: 'BLOCKED_ADDRESS' });
    expect(e.message).toContain('10.0.0.5 is a private address');
    expect(thrown(() => checkAddress({ allowPrivateNetwork: false }, '169.254.169.254')).message).toContain('169.254.169.254 is a link-local address');
    expect(thrown(() => checkAddress({ allowPrivateNetwork: false }, '::ffff:127.0.0.1')).message).toContain('is a loopback address');
  });

  it('lets public addresses through, and everything when private networks are allowed', () => {
    expect(() => checkAddress({ allowPrivateNetwork: false }, '93.184.216.34')).not.toThrow();
    expect(() => checkAddress({ allowPrivateNetwork: true }, '127.0.0.1')).not.toThrow();
    expect(() => checkAddress({ allowPrivateNetwork: true }, '169.254.169.254')).not.toThrow();
  });

  it('honours allowCidrs for exactly the listed ranges (also IPv4-mapped)', () => {
    const policy = { allowPrivateNetwork: false, allowCidrs: ['127.0.0.1/32', 'fd00::/8'] };
    expect(() => checkAddress(policy, '127.0.0.1')).not.toThrow();
    expect(() => checkAddress(policy, '::ffff:127.0.0.1')).not.toThrow();
    expect(() => checkAddress(policy, 'fd00::5')).not.toThrow();
    expect(thrown(() => checkAddress(policy, '127.0.0.2')).code).toBe('BLOCKED_ADDRESS');
    expect(thrown(() => checkAddress(policy, '10.0.0.1')).code).toBe('BLOCKED_ADDRESS');
  });
});

describe('resolveAndCheck', () => {
  const policy = { allowPrivateNetwork: false };
  const lookupOf =
    (map: Record<string, string[]>): LookupFn =>
    async (host) => {
      const addrs = map[host];
      if (!addrs) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
      return addrs.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    };

  it('returns every answer and the first as chosen', async () => {
    const r = await resolveAndCheck(policy, 'news.example', lookupOf({ 'news.example': ['93.184.216.34', '2606:2800:220:1::1'] }));
    expect(r).toEqual({ host: 'news.example', addresses: ['93.184.216.34', '2606:2800:220:1::1'], chosen: '93.184.216.34', literal: false });
  });

  it('blocks a public-looking name that resolves to a private address (DNS rebinding)', async () => {
    const e = await rejected(resolveAndCheck(policy, 'totally-public.example', lookupOf({ 'totally-public.example': ['10.0.0.5'] })));
    expect(e).toMatchObject({ name: 'PermanentError', code: 'BLOCKED_ADDRESS' });
    expect(e.message).toContain('10.0.0.5 is a private address (totally-public.example resolves to it)');
  });

  it('blocks when any one of several answers is private', async () => {
    const e = await rejected(resolveAndCheck(policy, 'mixed.example', lookupOf({ 'mixed.example': ['93.184.216.34', '169.254.169.254'] })));
    expect(e.code).toBe('BLOCKED_ADDRESS');
    expect(e.message).toContain('169.254.169.254');
  });

  it('checks IP literals without asking DNS', async () => {
    const noDns: LookupFn = async () => {
      throw new Error('DNS must not be asked');
    };
    expect((await resolveAndCheck(policy, '93.184.216.34', noDns)).literal).toBe(true);
    expect((await rejected(resolveAndCheck(policy, '[::1]', noDns))).code).toBe('BLOCKED_ADDRESS');
    expect((await rejected(resolveAndCheck(policy, '127.0.0.1', noDns))).code).toBe('BLOCKED_ADDRESS');
  });

  it('maps NXDOMAIN to a permanent DNS_FAILURE and resolver trouble to a transient one', async () => {
    const nx = await rejected(resolveAndCheck(policy, 'nope.example', lookupOf({})));
    expect(nx).toMatchObject({ name: 'PermanentError', code: 'DNS_FAILURE' });
    expect(nx.message).toContain('nope.example');
    const again: LookupFn = async () => {
      throw Object.assign(new Error('getaddrinfo EAI_AGAIN'), { code: 'EAI_AGAIN' });
    };
    const t = await rejected(resolveAndCheck(policy, 'slow.example', again));
    expect(t).toMatchObject({ name: 'TransientError', code: 'DNS_FAILURE' });
    const timeout: LookupFn = async () => {
      throw Object.assign(new Error('queryA ETIMEOUT'), { code: 'ETIMEOUT' });
    };
    expect(await rejected(resolveAndCheck(policy, 'slow.example', timeout))).toMatchObject({ name: 'TransientError' });
    const empty: LookupFn = async () => [];
    expect(await rejected(resolveAndCheck(policy, 'empty.example', empty))).toMatchObject({ name: 'PermanentError', code: 'DNS_FAILURE' });
  });

  it('uses the real error classes', async () => {
    await expect(resolveAndCheck(policy, '10.1.1.1')).rejects.toBeInstanceOf(PermanentError);
    const again: LookupFn = async () => {
      throw Object.assign(new Error('x'), { code: 'EAI_AGAIN' });
    };
    await expect(resolveAndCheck(policy, 'a.example', again)).rejects.toBeInstanceOf(TransientError);
  });
});

describe('validatePolicy', () => {
  it('accepts valid CIDR ranges and refuses one that does not parse, naming it', () => {
    expect(validatePolicy({ allowPrivateNetwork: false, allowCidrs: ['10.20.0.0/16', 'fd00::/8'] }).allowCidrs).toHaveLength(2);
    expect(() => validatePolicy({ allowPrivateNetwork: false, allowCidrs: ['999.1.1.1/8'] })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG', message: expect.stringContaining('999.1.1.1/8') }));
  });
  it('allows an address inside an allowed range only, private networks still refused around it', () => {
    const policy = validatePolicy({ allowPrivateNetwork: false, allowCidrs: ['127.0.0.1/32'] });
    expect(() => checkAddress(policy, '127.0.0.1')).not.toThrow();
    expect(() => checkAddress(policy, '127.0.0.2')).toThrow(expect.objectContaining({ code: 'BLOCKED_ADDRESS' }));
  });
});
