import { INGRESS_HOSTS, type IngressHost, type IngressRoute, type RouteTable } from './ingress.routes';

export type VerifyClientMode = 'on' | 'optional_no_ca';

export interface NginxTwinSettings {
  routes: RouteTable;
  /**
   * Service name → `http://127.0.0.1:<port>`, or several for several replicas (an `upstream`
   * block, round robin, as ingress-nginx balances a Service's endpoints). A routed service
   * without one answers 503, as an Ingress to a Service without endpoints does.
   */
  upstreams: Record<string, string | readonly string[]>;
  /**
   * Idle keep-alive connections nginx keeps to each service's replicas (`keepalive`, ingress-nginx's
   * upstream-keepalive-connections). Unset: a connection per request unless a service has
   * several replicas (then 32), which is what the twin did before replicas.
   */
  upstreamKeepalive?: number;
  ports: Record<IngressHost, number>;
  /** PEM files, see `writePkiFiles`. */
  files: { serverCert: string; serverKey: string; caBundle: string };
  /** Directory for the pid file and nginx's temp paths. */
  dir: string;
  /** Access log file. The error log goes to stderr. */
  accessLog: string;
  /** `ssl_verify_client` of the mTLS host. Default `on`. */
  verifyClient?: VerifyClientMode;
  /**
   * Run a master and one worker so `nginx -s reload` works (config-api's local sink reloads the
   * CA bundle this way). Single-process nginx cannot reconfigure: it loses its connections.
   */
  reloadable?: boolean;
  /** `ssl_verify_depth` of the mTLS host. Default 3 (leaf, issuing CA, root). */
  verifyDepth?: number;
  /** Default 127.0.0.1. */
  listenAddress?: string;
}

/**
 * Headers ingress-nginx sends upstream from an mTLS host (nginx.tmpl, "Pass the extracted
 * client certificate"), with pass-certificate-to-upstream on.
 */
const CLIENT_CERT_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ['ssl-client-cert', '$ssl_client_escaped_cert'],
  ['ssl-client-verify', '$ssl_client_verify'],
  ['ssl-client-subject-dn', '$ssl_client_s_dn'],
  ['ssl-client-issuer-dn', '$ssl_client_i_dn'],
];

function quote(value: string): string {
  if (/["\\\n$;{}]/.test(value)) throw new TypeError(`nginx config: unsafe value ${JSON.stringify(value)}`);
  return `"${value}"`;
}

/** `http://host:port` only: a path would make nginx rewrite the request URI. */
function upstreamTarget(service: string, url: string): string {
  const parsed = new URL(url);
  if (
    parsed.protocol !== 'http:' ||
    (parsed.pathname !== '/' && parsed.pathname !== '') ||
    parsed.search ||
    parsed.username
  ) {
    throw new TypeError(`upstream for ${service} must be http://host:port, got ${url}`);
  }
  return `http://${parsed.host}`;
}

/** Idle connections kept to a service with several replicas when no `upstreamKeepalive` is given. */
const DEFAULT_REPLICA_KEEPALIVE = 32;

const replicasOf = (urls: string | readonly string[] | undefined): readonly string[] =>
  urls === undefined ? [] : typeof urls === 'string' ? [urls] : urls;

/** A service proxied through a named `upstream` block (several replicas, or keep-alive asked for). */
function usesUpstreamBlock(service: string, settings: NginxTwinSettings): boolean {
  const replicas = replicasOf(settings.upstreams[service]);
  return replicas.length > 1 || (replicas.length === 1 && settings.upstreamKeepalive !== undefined);
}

/** The name of a service's `upstream` block. */
const upstreamName = (service: string) => `twin-${service}`;

/**
 * One `upstream` block per service that needs one: its replicas (round robin) and idle
 * keep-alive connections to them. nginx closes an idle one after 4 s, before Node's default
 * keepAliveTimeout (5 s) does, so nginx never sends a request on a connection being closed.
 *
 * `max_fails=0`: ingress-nginx balances in Lua and never takes an endpoint out of rotation
 * because one attempt failed; plain nginx would skip it for 10 s (max_fails=1, fail_timeout=10s),
 * and a replica that refused one connection would then silently serve nothing.
 */
function renderUpstreamBlocks(settings: NginxTwinSettings): string[] {
  const keepalive = settings.upstreamKeepalive ?? DEFAULT_REPLICA_KEEPALIVE;
  if (!Number.isInteger(keepalive) || keepalive < 1)
    throw new TypeError(`upstreamKeepalive must be ≥ 1, got ${keepalive}`);
  return Object.keys(settings.upstreams)
    .filter((service) => usesUpstreamBlock(service, settings))
    .map((service) =>
      [
        `  upstream ${upstreamName(service)} {`,
        ...replicasOf(settings.upstreams[service]).map(
          (url) => `    server ${upstreamTarget(service, url).slice('http://'.length)} max_fails=0;`,
        ),
        `    keepalive ${keepalive};`,
        '    keepalive_timeout 4s;',
        '  }',
      ].join('\n'),
    );
}

/**
 * Kubernetes pathType Prefix, rendered as ingress-nginx does: an exact location for the path
 * itself and a prefix location for what lies below it, so `/token` never matches `/tokens`.
 */
function renderRoute(route: IngressRoute, settings: NginxTwinSettings): string {
  const [first] = replicasOf(settings.upstreams[route.service]);
  const target = !first
    ? undefined
    : usesUpstreamBlock(route.service, settings)
      ? `http://${upstreamName(route.service)}`
      : upstreamTarget(route.service, first);
  const action = target ? `proxy_pass ${target};` : 'return 503;';
  const note = target ? [] : [`    # no upstream given for ${route.service}: 503, as for a Service without endpoints`];
  return [...note, `    location = ${route.path} { ${action} }`, `    location ${route.path}/ { ${action} }`].join(
    '\n',
  );
}

function renderServer(host: IngressHost, settings: NginxTwinSettings): string {
  const listen = settings.listenAddress ?? '127.0.0.1';
  const mtls = host === 'mtls';
  const lines = [
    `  # ${mtls ? 'mTLS host: client certificate verified against the CA bundle' : 'public host: no client certificate'}`,
    '  server {',
    `    listen ${listen}:${settings.ports[host]} ssl;`,
    '    server_name _;',
    `    ssl_certificate ${quote(settings.files.serverCert)};`,
    `    ssl_certificate_key ${quote(settings.files.serverKey)};`,
    '    ssl_protocols TLSv1.2 TLSv1.3;',
  ];
  if (mtls) {
    lines.push(
      `    ssl_client_certificate ${quote(settings.files.caBundle)};`,
      `    ssl_verify_client ${settings.verifyClient ?? 'on'};`,
      `    ssl_verify_depth ${settings.verifyDepth ?? 3};`,
    );
  }
  lines.push(
    '',
    '    # Set here once, inherited by every location (a location with its own proxy_set_header',
    '    # would inherit none of these). proxy_set_header replaces any copy the client sent.',
    '    proxy_http_version 1.1;',
    '    proxy_set_header Host $http_host;',
    '    proxy_set_header Connection "";',
    '    # ingress-nginx keeps a client-sent X-Request-ID and generates one otherwise.',
    '    proxy_set_header X-Request-ID $req_id;',
    '    # use-forwarded-headers "false" (the default): the peer address replaces whatever',
    '    # X-Forwarded-For the client sent; the client value is kept only as',
    '    # X-Original-Forwarded-For, which services must not trust.',
    '    proxy_set_header X-Real-IP $remote_addr;',
    '    proxy_set_header X-Forwarded-For $remote_addr;',
    '    proxy_set_header X-Forwarded-Host $http_host;',
    '    proxy_set_header X-Forwarded-Port $server_port;',
    '    proxy_set_header X-Forwarded-Proto $scheme;',
    '    proxy_set_header X-Scheme $scheme;',
    '    proxy_set_header X-Original-Forwarded-For $http_x_forwarded_for;',
    '    proxy_set_header Proxy ""; # httpoxy',
    '    # ingress-nginx defaults: a failed connection is retried on the next replica, at most 3',
    '    # tries in all; a POST already sent is never retried (non_idempotent is not set).',
    '    proxy_connect_timeout 5s;',
    '    proxy_next_upstream error timeout;',
    '    proxy_next_upstream_tries 3;',
  );
  if (mtls) {
    lines.push('    # The verified client certificate, as ingress-nginx passes it.');
    for (const [name, variable] of CLIENT_CERT_HEADERS) lines.push(`    proxy_set_header ${name} ${variable};`);
  } else {
    lines.push(
      '    # No certificate on this host: an empty value makes nginx drop the header, so a',
      '    # client-sent copy never reaches a service.',
    );
    for (const [name] of CLIENT_CERT_HEADERS) lines.push(`    proxy_set_header ${name} "";`);
  }
  lines.push('');
  for (const route of settings.routes.hosts[host].routes) lines.push(renderRoute(route, settings));
  lines.push(
    '    # Unrouted paths (config-api, ops endpoints, anything else) end at the edge.',
    '    location / { return 404; }',
    '  }',
  );
  return lines.join('\n');
}

/**
 * Renders the nginx.conf of the ingress twin: two TLS servers, the public host and the mTLS
 * host, routed from the shared route table and forwarding the headers ingress-nginx forwards.
 *
 * Runs as a single foreground process (`daemon off; master_process off;`) unless it must be
 * reloadable: the twin's lifetime
 * is then exactly the child's, nothing is left behind when a test process dies, and no worker
 * switches to an unprivileged user that could not read the temp dir when tests run as root.
 * The error log goes to stderr, which the harness captures; the access log to a file.
 */
export function renderNginxConfig(settings: NginxTwinSettings): string {
  const dir = settings.dir;
  const lines = [
    '# Generated by @obip/testing (renderNginxConfig). The ingress twin: ingress-nginx behaviour as plain nginx.',
    'daemon off;',
    ...(settings.reloadable
      ? // As root, the worker would switch to an unprivileged user that cannot read the temp dir.
        ['master_process on;', 'worker_processes 1;', ...(process.getuid?.() === 0 ? ['user root;'] : [])]
      : ['master_process off;']),
    `pid ${quote(`${dir}/nginx.pid`)};`,
    'error_log stderr info;',
    'events { worker_connections 256; }',
    'http {',
    `  client_body_temp_path ${quote(`${dir}/client_body`)};`,
    `  proxy_temp_path ${quote(`${dir}/proxy`)};`,
    `  fastcgi_temp_path ${quote(`${dir}/fastcgi`)};`,
    `  uwsgi_temp_path ${quote(`${dir}/uwsgi`)};`,
    `  scgi_temp_path ${quote(`${dir}/scgi`)};`,
    '  log_format twin \'$server_port $remote_addr "$request" $status req_id=$req_id verify=$ssl_client_verify upstream=$upstream_addr\';',
    // Not /dev/stdout: a child's stdout is a socket here, which nginx cannot open by path.
    `  access_log ${quote(settings.accessLog)} twin;`,
    '  server_tokens off;',
    '  # nginx defaults, stated because the header rules depend on them: headers with',
    '  # underscores (ssl_client_cert) are dropped, never mapped onto ssl-client-cert.',
    '  underscores_in_headers off;',
    '  ignore_invalid_headers on;',
    '  map $http_x_request_id $req_id {',
    '    default $http_x_request_id;',
    '    "" $request_id;',
    '  }',
    ...renderUpstreamBlocks(settings),
    ...INGRESS_HOSTS.map((host) => renderServer(host, settings)),
    '}',
    '',
  ];
  return lines.join('\n');
}
