/** A `host:port` pair of a Redis node or Sentinel. */
export interface RedisAddress {
  host: string;
  port: number;
}

interface Credentials {
  username?: string;
  password?: string;
}

/**
 * Where Redis lives. Parsed from a URL by {@link parseRedisUrl}, or given explicitly when the
 * deployment needs settings a URL cannot carry (a Sentinel password that differs from the
 * data nodes').
 */
export type RedisTopology =
  | ({ mode: 'standalone'; host: string; port: number; db?: number; tls: boolean } & Credentials)
  | ({
      mode: 'sentinel';
      sentinels: RedisAddress[];
      masterName: string;
      db?: number;
      tls: boolean;
      /** Sentinels often run with their own password (`requirepass` on the sentinel). */
      sentinelPassword?: string;
    } & Credentials)
  | ({ mode: 'cluster'; nodes: RedisAddress[]; tls: boolean } & Credentials);

const DEFAULT_PORT = 6379;
const DEFAULT_SENTINEL_PORT = 26379;

const SCHEMES: Record<string, { mode: RedisTopology['mode']; tls: boolean }> = {
  redis: { mode: 'standalone', tls: false },
  rediss: { mode: 'standalone', tls: true },
  'redis-sentinel': { mode: 'sentinel', tls: false },
  'rediss-sentinel': { mode: 'sentinel', tls: true },
  'redis-cluster': { mode: 'cluster', tls: false },
  'rediss-cluster': { mode: 'cluster', tls: true },
};

/**
 * Parses a Redis location URL. Supported forms:
 *
 * - `redis://[user:pass@]host[:port][/db]`, `rediss://…` (TLS)
 * - `redis-sentinel://[user:pass@]host:port,host:port/<masterName>[/db][?sentinelPassword=…]`,
 *   `rediss-sentinel://…` (TLS to sentinels and master)
 * - `redis-cluster://[user:pass@]host:port,host:port`, `rediss-cluster://…`
 *
 * WHATWG `URL` cannot parse a comma-separated host list, so the authority is split by hand.
 * Credentials are percent-decoded; the password is never echoed in an error.
 *
 * @example
 * parseRedisUrl('redis-sentinel://s1:26379,s2:26379/mymaster');
 * // { mode: 'sentinel', sentinels: [...], masterName: 'mymaster', tls: false }
 */
export function parseRedisUrl(url: string): RedisTopology {
  const match = /^([a-z-]+):\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?$/i.exec(url.trim());
  if (!match) throw new TypeError('invalid Redis URL: expected <scheme>://host[:port]');
  const [, rawScheme = '', authority = '', path = '', query = ''] = match;
  const scheme = SCHEMES[rawScheme.toLowerCase()];
  if (!scheme) {
    throw new TypeError(`unsupported Redis URL scheme "${rawScheme}": use one of ${Object.keys(SCHEMES).join(', ')}`);
  }
  const at = authority.lastIndexOf('@');
  const credentials = parseCredentials(at === -1 ? '' : authority.slice(0, at));
  const hostList = at === -1 ? authority : authority.slice(at + 1);
  const params = new URLSearchParams(query);
  const segments = path.split('/').filter((s) => s !== '');

  switch (scheme.mode) {
    case 'standalone': {
      const [address, ...more] = parseHostList(hostList, DEFAULT_PORT);
      if (!address || more.length > 0) throw new TypeError('a redis:// URL names exactly one host');
      if (segments.length > 1) throw new TypeError('a redis:// URL path is at most the database number');
      return { mode: 'standalone', ...address, tls: scheme.tls, ...credentials, ...parseDb(segments[0]) };
    }
    case 'sentinel': {
      const sentinels = parseHostList(hostList, DEFAULT_SENTINEL_PORT);
      const [masterName, db, ...rest] = segments;
      if (sentinels.length === 0) throw new TypeError('a redis-sentinel:// URL needs at least one sentinel');
      if (!masterName || rest.length > 0) {
        throw new TypeError('a redis-sentinel:// URL path is /<masterName>[/<db>]');
      }
      const sentinelPassword = params.get('sentinelPassword');
      return {
        mode: 'sentinel',
        sentinels,
        masterName: decodeURIComponent(masterName),
        tls: scheme.tls,
        ...credentials,
        ...parseDb(db),
        ...(sentinelPassword ? { sentinelPassword } : {}),
      };
    }
    case 'cluster': {
      const nodes = parseHostList(hostList, DEFAULT_PORT);
      if (nodes.length === 0) throw new TypeError('a redis-cluster:// URL needs at least one node');
      // Redis Cluster has only database 0 (cluster spec, "Implemented subset").
      if (segments.length > 0)
        throw new TypeError('a redis-cluster:// URL takes no path: cluster mode has no databases');
      return { mode: 'cluster', nodes, tls: scheme.tls, ...credentials };
    }
  }
}

function parseCredentials(userinfo: string): Credentials {
  if (userinfo === '') return {};
  const colon = userinfo.indexOf(':');
  const username = decodeURIComponent(colon === -1 ? userinfo : userinfo.slice(0, colon));
  const password = colon === -1 ? '' : decodeURIComponent(userinfo.slice(colon + 1));
  return {
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
  };
}

function parseHostList(list: string, defaultPort: number): RedisAddress[] {
  if (list === '') return [];
  return list.split(',').map((entry) => parseAddress(entry.trim(), defaultPort));
}

function parseAddress(entry: string, defaultPort: number): RedisAddress {
  // `[::1]:6379`: IPv6 literals are bracketed so the port separator stays unambiguous.
  const match = /^(\[[^\]]+\]|[^:[\]]+)(?::(\d+))?$/.exec(entry);
  if (!match || !match[1]) throw new TypeError(`invalid Redis host "${entry}"`);
  const host = match[1].replace(/^\[|\]$/g, '');
  const port = match[2] === undefined ? defaultPort : Number(match[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new TypeError(`invalid Redis port in "${entry}"`);
  return { host, port };
}

function parseDb(segment: string | undefined): { db?: number } {
  if (segment === undefined) return {};
  if (!/^\d+$/.test(segment)) throw new TypeError(`invalid Redis database "${segment}"`);
  return { db: Number(segment) };
}
