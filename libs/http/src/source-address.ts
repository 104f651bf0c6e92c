import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { createTrustedProxies } from './trusted-proxies';

/** The client address a request is counted under, or undefined when none can be told. */
export type SourceAddressReader = (req: IncomingMessage) => string | undefined;

/**
 * Reads the address a request came from, as the trusted edge reports it, for per-address limits:
 *
 * - from a peer in `trustedProxyCidrs` (the edge), the last entry of `X-Forwarded-For`: the
 *   address the edge itself saw (ingress-nginx overwrites the header with `$remote_addr`, or
 *   appends it with `compute-full-forwarded-for`; entries to its left came from the client and
 *   are never read). A trusted peer that sends no forwarded address is an in-cluster caller
 *   (the portal, a bank API gateway), not the internet: undefined, not limited by address.
 * - from any other peer, that peer's own address: a forwarded header from it is ignored, since
 *   only the edge's can be believed.
 * - without `trustedProxyCidrs`, every request counts under its TCP peer. Behind an edge that is
 *   the edge's own address, so the service's configuration must name the edge (TRUSTED_PROXY_CIDRS)
 *   wherever per-address limits are on.
 *
 * Addresses are returned as the bucket they count in: IPv4 (also IPv4-mapped IPv6) as written,
 * IPv6 as its /64 prefix, since one subscriber is usually given a whole /64.
 *
 * @example
 * const sourceAddressOf = createSourceAddressReader({ trustedProxyCidrs: ['10.0.0.0/8'] });
 * sourceAddressOf(req); // '203.0.113.7' (from X-Forwarded-For: 198.51.100.1, 203.0.113.7 sent by 10.1.2.3)
 */
export function createSourceAddressReader(options: { trustedProxyCidrs?: readonly string[] }): SourceAddressReader {
  const trusted =
    options.trustedProxyCidrs && options.trustedProxyCidrs.length > 0
      ? createTrustedProxies(options.trustedProxyCidrs)
      : undefined;
  return function sourceAddressOf(req) {
    const peer = req.socket?.remoteAddress;
    if (!trusted || !trusted.includes(peer)) return peer === undefined ? undefined : addressBucket(peer);
    const forwarded = req.headers['x-forwarded-for'];
    const last = (Array.isArray(forwarded) ? forwarded.join(',') : forwarded)?.split(',').pop()?.trim();
    return last ? addressBucket(last) : undefined;
  };
}

/**
 * The bucket an address counts in: an IPv4 address itself (unwrapped from `::ffff:a.b.c.d`), an
 * IPv6 address's /64 prefix (`2001:db8:1:2::/64`), or undefined for anything that is not an
 * address (a malformed forwarded value is never a key).
 *
 * @example
 * addressBucket('::ffff:203.0.113.7'); // '203.0.113.7'
 * addressBucket('2001:db8:1:2:a:b:c:d'); // '2001:db8:1:2::/64'
 */
export function addressBucket(address: string): string | undefined {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped && isIP(mapped) === 4) return mapped;
  const family = isIP(address);
  if (family === 4) return address;
  if (family !== 6) return undefined;
  const groups = expandIpv6(address.replace(/%.*$/, ''));
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address, lower-case; an embedded IPv4 tail becomes two groups. */
function expandIpv6(address: string): string[] {
  const lower = address.toLowerCase();
  const ipv4Tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(lower)?.[1];
  const withoutTail = ipv4Tail
    ? lower.slice(0, -ipv4Tail.length) +
      ipv4Tail
        .split('.')
        .map(Number)
        .reduce<string[]>((groups, octet, index) => {
          if (index % 2 === 0) groups.push(octet.toString(16).padStart(2, '0'));
          else groups[groups.length - 1] += octet.toString(16).padStart(2, '0');
          return groups;
        }, [])
        .join(':')
    : lower;
  const [head = '', tail] = withoutTail.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const missing = 8 - headGroups.length - tailGroups.length;
  return [...headGroups, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...tailGroups];
}
