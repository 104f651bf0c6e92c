import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export type IngressHost = 'public' | 'mtls';
export const INGRESS_HOSTS: readonly IngressHost[] = ['public', 'mtls'];

export interface IngressRoute {
  /** Path prefix, matched on segment boundaries (Kubernetes pathType Prefix). */
  path: string;
  /** The Kubernetes Service (and twin upstream) name, e.g. `auth-server`. */
  service: string;
}

export interface IngressHostRoutes {
  clientCertificate: 'required' | 'none';
  routes: IngressRoute[];
}

export interface RouteTable {
  hosts: Record<IngressHost, IngressHostRoutes>;
}

/** The route table the chart and the twin share. */
export const ROUTES_FILE = resolve(import.meta.dirname, '../../../../charts/obip/files/routes.json');

// Never reachable from outside (ARCHITECTURE.md: config-api is internal; ops ports unrouted).
const NEVER_ROUTED = new Set(['config-api']);
const PATH_PATTERN = /^\/[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/;

/**
 * Reads and validates `charts/obip/files/routes.json` (or `file`). Throws on a malformed table,
 * a route to config-api, a path that nginx and Kubernetes would read differently, or a path
 * listed twice on one host.
 *
 * @example
 * const routes = loadRouteTable();
 * routes.hosts.mtls.routes; // [{ path: '/register', service: 'dcr-service' }, ...]
 */
export function loadRouteTable(file: string = ROUTES_FILE): RouteTable {
  return parseRouteTable(JSON.parse(readFileSync(file, 'utf8')) as unknown);
}

export function parseRouteTable(input: unknown): RouteTable {
  const hosts = (input as { hosts?: unknown } | null)?.hosts;
  if (typeof hosts !== 'object' || hosts === null) throw new TypeError('route table: "hosts" object is required');
  const table = { hosts: {} } as RouteTable;
  for (const host of INGRESS_HOSTS) {
    const entry = (hosts as Record<string, unknown>)[host] as Partial<IngressHostRoutes> | undefined;
    if (!entry || !Array.isArray(entry.routes))
      throw new TypeError(`route table: hosts.${host}.routes must be an array`);
    const expected = host === 'mtls' ? 'required' : 'none';
    if (entry.clientCertificate !== expected) {
      throw new TypeError(`route table: hosts.${host}.clientCertificate must be "${expected}"`);
    }
    const seen = new Set<string>();
    const routes = entry.routes.map((route: Partial<IngressRoute>, index) => {
      const where = `hosts.${host}.routes[${index}]`;
      if (typeof route.path !== 'string' || !PATH_PATTERN.test(route.path)) {
        throw new TypeError(`route table: ${where}.path must be an absolute path without a trailing slash`);
      }
      if (typeof route.service !== 'string' || !/^[a-z][a-z0-9-]*$/.test(route.service)) {
        throw new TypeError(`route table: ${where}.service must be a service name`);
      }
      if (NEVER_ROUTED.has(route.service))
        throw new TypeError(`route table: ${where} routes ${route.service}, which is internal`);
      if (seen.has(route.path)) throw new TypeError(`route table: ${where}.path ${route.path} is listed twice`);
      seen.add(route.path);
      return { path: route.path, service: route.service };
    });
    table.hosts[host] = { clientCertificate: expected, routes };
  }
  return table;
}
