import { BlockList, isIP } from 'node:net';

export interface TrustedProxies {
  /** Whether a socket's remote address falls in the allow-list. IPv4-mapped IPv6 counts as IPv4. */
  includes(address: string | undefined): boolean;
}

/**
 * An allow-list of proxy addresses from CIDRs (`10.0.0.0/8`, `fd00::/8`) or bare addresses.
 * A malformed entry throws a TypeError at start-up, naming the entry.
 *
 * @example
 * createTrustedProxies(['10.0.0.0/8', '::1']).includes(req.socket.remoteAddress);
 */
export function createTrustedProxies(cidrs: readonly string[]): TrustedProxies {
  const list = new BlockList();
  for (const entry of cidrs) {
    const [address = '', prefix, extra] = entry.trim().split('/');
    const family = isIP(address);
    const maxPrefix = family === 4 ? 32 : 128;
    const length = prefix === undefined ? maxPrefix : /^\d{1,3}$/.test(prefix) ? Number(prefix) : Number.NaN;
    if (family === 0 || extra !== undefined || !(length <= maxPrefix)) {
      throw new TypeError(`trusted proxy entry ${JSON.stringify(entry)} is not an IP address or CIDR`);
    }
    list.addSubnet(address, length, family === 4 ? 'ipv4' : 'ipv6');
  }
  return {
    includes(address) {
      if (!address) return false;
      const family = isIP(address);
      if (family === 0) return false;
      // BlockList also matches an IPv4-mapped IPv6 address (::ffff:10.1.2.3) against IPv4 rules.
      return list.check(address, family === 4 ? 'ipv4' : 'ipv6');
    },
  };
}
