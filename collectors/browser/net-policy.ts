import { lookup as dnsLookup } from 'node:dns/promises';
import { createRequire } from 'node:module';

// ipaddr.js is CommonJS with `export =`; load it the CommonJS way so this works without esModuleInterop.
const ipaddr = createRequire(import.meta.url)('ipaddr.js') as typeof import('ipaddr.js');
type IPv4 = InstanceType<typeof ipaddr.IPv4>;
type IPv6 = InstanceType<typeof ipaddr.IPv6>;
import { PermanentError, TransientError } from '../../lib/errors.js';

/**
 * Network policy for captures: which targets may be contacted (what a target URL may be is
 * `schemas/target-url.ts`). Checked on the resolved address of
 * every request the page makes (main document, sub-resources, every redirect hop), so a public
 * looking name that resolves to a private address is refused before any connection is opened.
 */

/** Address classes; everything but `public` is refused unless the policy allows private networks. */
export const ADDRESS_CLASSES = ['public', 'private', 'carrier-grade-nat', 'loopback', 'link-local', 'unspecified', 'multicast', 'broadcast', 'reserved'] as const;
export type AddressClass = (typeof ADDRESS_CLASSES)[number];

/** What may be contacted. */
export interface NetPolicy {
  /** Allow private, loopback, link-local and other non-public targets (the local sample site). @defaultValue false */
  allowPrivateNetwork: boolean;
  /**
   * CIDR ranges (e.g. `127.0.0.1/32`) allowed even when `allowPrivateNetwork` is false, for a
   * known internal host. @defaultValue []
   */
  allowCidrs?: readonly string[];
}

/** `dns.lookup(host, { all: true })` shaped resolver; injectable so tests need no DNS. */
export type LookupFn = (host: string) => Promise<ReadonlyArray<{ address: string; family: number }>>;

/** The outcome of {@link resolveAndCheck}. */
export interface Resolution {
  host: string;
  /** Every address the resolver answered, in resolver order (the literal itself for IP hosts). */
  addresses: string[];
  /** The address to connect to first: the first answer. */
  chosen: string;
  /** Whether `host` was an IP literal (no DNS was asked). */
  literal: boolean;
}

/** Quote an address or range for an error message, bounded. */
function quote(input: string): string {
  return JSON.stringify(input.length > 200 ? `${input.slice(0, 200)}…` : input);
}

/** Strip URL brackets and a zone id, e.g. `[fe80::1%eth0]` → `fe80::1`. */
function bareIp(ip: string): string {
  const unbracketed = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  const zone = unbracketed.indexOf('%');
  return zone === -1 ? unbracketed : unbracketed.slice(0, zone);
}

/** Whether `host` is an IPv4 or IPv6 literal (brackets allowed), in canonical forms only. */
export function isIpLiteral(host: string): boolean {
  const bare = bareIp(host);
  return ipaddr.IPv4.isValidFourPartDecimal(bare) || ipaddr.IPv6.isValid(bare);
}

function classifyV4(addr: IPv4): AddressClass {
  switch (addr.range()) {
    case 'unicast':
      return 'public';
    case 'private':
      return 'private';
    case 'carrierGradeNat':
      return 'carrier-grade-nat';
    case 'loopback':
      return 'loopback';
    case 'linkLocal':
      return 'link-local';
    case 'unspecified':
      return 'unspecified';
    case 'multicast':
      return 'multicast';
    case 'broadcast':
      return 'broadcast';
    default:
      // reserved, documentation, benchmarking, as112, amt: nothing a capture should reach
      return 'reserved';
  }
}

/** The IPv4 address carried in the low 32 bits of an IPv6 address. */
function low32(addr: IPv6): IPv4 {
  const p = addr.parts;
  const hi = p[6] ?? 0;
  const lo = p[7] ?? 0;
  return new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
}

function classifyV6(addr: IPv6): AddressClass {
  const p = addr.parts;
  // The bundled typings list fewer range names than the library returns.
  switch (addr.range() as string) {
    case 'unicast':
      return 'public';
    case 'ipv4Mapped': // ::ffff:a.b.c.d
    case 'rfc6145': // ::ffff:0:a.b.c.d
      return classifyV4(low32(addr));
    case 'rfc6052': {
      // 64:ff9b::/96 is the well-known NAT64 prefix: the real target is the embedded IPv4.
      // 64:ff9b:1::/48 is for local NAT64 deployments only.
      if (p[2] === 1) return 'private';
      return classifyV4(low32(addr));
    }
    case '6to4': {
      const a = p[1] ?? 0;
      const b = p[2] ?? 0;
      return classifyV4(new ipaddr.IPv4([a >> 8, a & 0xff, b >> 8, b & 0xff]));
    }
    case 'uniqueLocal':
    case 'deprecatedSiteLocal':
      return 'private';
    case 'loopback':
      return 'loopback';
    case 'linkLocal':
      return 'link-local';
    case 'unspecified':
      return 'unspecified';
    case 'multicast':
      return 'multicast';
    default:
      // teredo, discard, documentation, benchmarking, orchid, segment routing, …
      return 'reserved';
  }
}

/**
 * Classify an IP address. IPv4-mapped, IPv4-compatible, NAT64 (64:ff9b::/96) and 6to4 addresses
 * are classified by the IPv4 address they carry, so `::ffff:127.0.0.1` is `loopback`.
 * @throws PermanentError `INVALID_INPUT` when `ip` is not an IP address.
 */
export function classifyAddress(ip: string): AddressClass {
  const bare = bareIp(ip);
  if (!ipaddr.isValid(bare)) throw new PermanentError('INVALID_INPUT', `not an IP address: ${quote(ip)}`);
  const addr = ipaddr.parse(bare);
  if (addr.kind() === 'ipv4') return classifyV4(addr as IPv4);
  const v6 = addr as IPv6;
  const p = v6.parts;
  // Deprecated IPv4-compatible form ::a.b.c.d (not :: and ::1, which range() handles).
  if (p.slice(0, 6).every((x) => x === 0) && ((p[6] ?? 0) !== 0 || (p[7] ?? 0) > 1)) return classifyV4(low32(v6));
  return classifyV6(v6);
}

function inAllowedCidr(policy: NetPolicy, ip: string): boolean {
  if (!policy.allowCidrs || policy.allowCidrs.length === 0) return false;
  let addr = ipaddr.parse(bareIp(ip));
  if (addr.kind() === 'ipv6' && (addr as IPv6).isIPv4MappedAddress()) addr = (addr as IPv6).toIPv4Address();
  for (const cidr of policy.allowCidrs) {
    const [range, bits] = ipaddr.parseCIDR(cidr);
    if (range.kind() === addr.kind() && addr.match(range, bits)) return true;
  }
  return false;
}

/**
 * Check a policy's CIDR ranges once, before any capture uses them.
 * @throws PermanentError `INVALID_CONFIG` naming the range that does not parse.
 */
export function validatePolicy(policy: NetPolicy): NetPolicy {
  for (const cidr of policy.allowCidrs ?? []) {
    try {
      ipaddr.parseCIDR(cidr);
    } catch (cause) {
      throw new PermanentError('INVALID_CONFIG', `capture.allowCidrs: ${quote(cidr)} is not a CIDR range`, { cause });
    }
  }
  return policy;
}

/**
 * Refuse an address the policy does not allow.
 * @throws PermanentError `BLOCKED_ADDRESS` naming the address and its class.
 */
export function checkAddress(policy: NetPolicy, ip: string, host?: string): void {
  const cls = classifyAddress(ip);
  if (cls === 'public' || policy.allowPrivateNetwork || inAllowedCidr(policy, ip)) return;
  const article = /^[aeiou]/.test(cls) ? 'an' : 'a';
  const of = host && bareIp(host) !== bareIp(ip) ? ` (${host} resolves to it)` : '';
  throw new PermanentError('BLOCKED_ADDRESS', `refused to connect: ${bareIp(ip)} is ${article} ${cls} address${of}; private network targets are not allowed by policy`);
}

/** Node's resolver with every answer, in resolver order. */
export const systemLookup: LookupFn = (host) => dnsLookup(host, { all: true, verbatim: true });

const PERMANENT_DNS_CODES = new Set(['ENOTFOUND', 'ENODATA', 'EAI_NONAME', 'EAI_NODATA', 'ENONAME', 'EBADNAME']);

/**
 * Ask the resolver for every address of `host` (a name, not an IP literal), in resolver order.
 * @throws PermanentError `DNS_FAILURE` when the name does not exist or has no addresses;
 *   TransientError `DNS_FAILURE` for timeouts and temporary resolver failures.
 */
export async function lookupHost(host: string, lookupFn: LookupFn = systemLookup): Promise<string[]> {
  let answers: ReadonlyArray<{ address: string; family: number }>;
  try {
    answers = await lookupFn(host);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException | null)?.code ?? 'UNKNOWN';
    const message = `DNS lookup of ${host} failed: ${code}`;
    if (PERMANENT_DNS_CODES.has(code)) throw new PermanentError('DNS_FAILURE', message, { cause });
    throw new TransientError('DNS_FAILURE', message, { cause });
  }
  const addresses = answers.map((a) => a.address);
  if (addresses.length === 0) throw new PermanentError('DNS_FAILURE', `DNS lookup of ${host} returned no addresses`);
  return addresses;
}

/**
 * Resolve `host` and check every answer against the policy (one blocked answer blocks the host,
 * since the connection could land on any of them). IP literals are checked without DNS.
 * @throws PermanentError `BLOCKED_ADDRESS`; `DNS_FAILURE` as for {@link lookupHost}.
 */
export async function resolveAndCheck(policy: NetPolicy, host: string, lookupFn: LookupFn = systemLookup): Promise<Resolution> {
  const bare = bareIp(host);
  if (isIpLiteral(bare)) {
    checkAddress(policy, bare);
    return { host, addresses: [bare], chosen: bare, literal: true };
  }
  const addresses = await lookupHost(host, lookupFn);
  for (const address of addresses) checkAddress(policy, address, host);
  return { host, addresses, chosen: addresses[0]!, literal: false };
}
