import { BlockList, isIP, type LookupFunction } from 'node:net';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';

// Addresses an outbound fetch of a URL that a client supplied (a jwks_uri, a software statement's
// JWKS endpoint) must never reach: the platform's own network (SSRF).
const PRIVATE_RANGES = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  PRIVATE_RANGES.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
] as const) {
  PRIVATE_RANGES.addSubnet(network, prefix, 'ipv6');
}

/** Raised by {@link publicOnlyLookup} when a host name resolves to a private address. */
export class PrivateAddressError extends Error {
  readonly code = 'EPRIVATEADDRESS';
  constructor(hostname: string) {
    super(`${hostname} resolves to a private, loopback or link-local address`);
    this.name = 'PrivateAddressError';
  }
}

/**
 * True for loopback, private (RFC 1918, ULA), link-local, CGNAT, multicast and reserved
 * addresses, IPv4-mapped IPv6 included; anything that is not an IP address counts as private.
 *
 * @example
 * isPrivateAddress('169.254.169.254'); // true: cloud metadata
 */
export function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped) return isPrivateAddress(mapped[1]!);
  const family = isIP(address);
  if (family === 0) return true;
  return PRIVATE_RANGES.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * A `lookup` for `http.request`/`https.request` that fails the connection when any address the
 * name resolves to is private. Checked at connect time, so DNS rebinding between a check and
 * the request cannot slip a private address through.
 *
 * @example
 * https.request(url, { lookup: publicOnlyLookup });
 */
export const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
    if (error) return callback(error, '', 0);
    if (addresses.length === 0 || addresses.some((entry) => isPrivateAddress(entry.address))) {
      return callback(new PrivateAddressError(hostname), '', 0);
    }
    if (options.all) return callback(null, addresses as unknown as string, 0);
    return callback(null, addresses[0]!.address, addresses[0]!.family);
  });
};
