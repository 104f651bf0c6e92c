import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadRouteTable, parseRouteTable, type RouteTable } from './ingress.routes';
import { renderNginxConfig, type NginxTwinSettings } from './nginx.config';

const routes = loadRouteTable();

function settings(overrides: Partial<NginxTwinSettings> = {}): NginxTwinSettings {
  return {
    routes,
    upstreams: { 'auth-server': 'http://127.0.0.1:4001', 'dcr-service': 'http://127.0.0.1:4002' },
    ports: { public: 8443, mtls: 9443 },
    files: { serverCert: '/tmp/x/server.crt', serverKey: '/tmp/x/server.key', caBundle: '/tmp/x/ca-bundle.pem' },
    dir: '/tmp/x',
    accessLog: '/tmp/x/access.log',
    ...overrides,
  };
}

/** The text of one `server { … }` block, found by its listen port. */
function serverBlock(config: string, port: number): string {
  const start = config.indexOf(`listen 127.0.0.1:${port} ssl;`);
  assert.ok(start >= 0, `no server on ${port}`);
  const end = config.indexOf('location / { return 404; }', start);
  return config.slice(start, end);
}

describe('route table (charts/obip/files/routes.json)', () => {
  test('routes the mTLS host as ARCHITECTURE.md lists', () => {
    const mtls = Object.fromEntries(routes.hosts.mtls.routes.map((r) => [r.path, r.service]));
    assert.deepEqual(mtls, {
      '/register': 'dcr-service',
      '/par': 'auth-server',
      '/token': 'auth-server',
      '/revoke': 'auth-server',
      '/userinfo': 'auth-server',
      '/bc-authorize': 'auth-server',
      '/introspect': 'token-introspection',
      '/open-banking': 'consent-service',
    });
  });

  test('routes the public host as ARCHITECTURE.md lists', () => {
    const pub = Object.fromEntries(routes.hosts.public.routes.map((r) => [r.path, r.service]));
    assert.deepEqual(pub, {
      '/.well-known': 'auth-server',
      '/jwks': 'auth-server',
      '/authorize': 'auth-server',
      '/interaction': 'auth-server',
      '/session': 'auth-server',
      '/portal': 'consent-service',
    });
  });

  test('rejects a table that routes config-api', () => {
    const table: RouteTable = structuredClone(routes);
    table.hosts.public.routes.push({ path: '/config', service: 'config-api' });
    assert.throws(() => parseRouteTable(table), /internal/);
  });

  test('rejects a path with a trailing slash, which nginx and Kubernetes would match differently', () => {
    const table: RouteTable = structuredClone(routes);
    table.hosts.mtls.routes.push({ path: '/token/', service: 'auth-server' });
    assert.throws(() => parseRouteTable(table), /trailing slash/);
  });
});

describe('renderNginxConfig', () => {
  test('verifies client certificates on the mTLS host only', () => {
    const config = renderNginxConfig(settings());
    const mtls = serverBlock(config, 9443);
    const pub = serverBlock(config, 8443);
    assert.match(mtls, /ssl_verify_client on;/);
    assert.match(mtls, /ssl_verify_depth 3;/);
    assert.match(mtls, /ssl_client_certificate "\/tmp\/x\/ca-bundle.pem";/);
    assert.doesNotMatch(pub, /ssl_verify_client/);
  });

  test('passes the certificate headers as ingress-nginx does on the mTLS host and clears them on the public host', () => {
    const config = renderNginxConfig(settings());
    const mtls = serverBlock(config, 9443);
    const pub = serverBlock(config, 8443);
    assert.match(mtls, /proxy_set_header ssl-client-cert \$ssl_client_escaped_cert;/);
    assert.match(mtls, /proxy_set_header ssl-client-verify \$ssl_client_verify;/);
    assert.match(mtls, /proxy_set_header ssl-client-subject-dn \$ssl_client_s_dn;/);
    assert.match(mtls, /proxy_set_header ssl-client-issuer-dn \$ssl_client_i_dn;/);
    for (const name of ['ssl-client-cert', 'ssl-client-verify', 'ssl-client-subject-dn', 'ssl-client-issuer-dn']) {
      assert.match(pub, new RegExp(`proxy_set_header ${name} "";`));
    }
  });

  test('sets proxy headers at server level only, so no location loses them by defining its own', () => {
    const config = renderNginxConfig(settings());
    for (const line of config.split('\n').filter((l) => /^\s*location /.test(l))) {
      assert.doesNotMatch(line, /proxy_set_header/, line);
    }
  });

  test('renders each prefix as an exact and a sub-path location, and answers 503 without an upstream', () => {
    const config = renderNginxConfig(settings());
    assert.match(config, /location = \/token \{ proxy_pass http:\/\/127\.0\.0\.1:4001; \}/);
    assert.match(config, /location \/token\/ \{ proxy_pass http:\/\/127\.0\.0\.1:4001; \}/);
    assert.match(config, /location = \/introspect \{ return 503; \}/);
    assert.doesNotMatch(config, /location [^\n]*\/config/, 'config-api is never routed');
    assert.match(config, /# no upstream given for token-introspection/);
  });

  test('balances several replicas of a service through an upstream block with keep-alive connections', () => {
    const config = renderNginxConfig(
      settings({ upstreams: { 'auth-server': ['http://127.0.0.1:4001', 'http://127.0.0.1:4003'] } }),
    );
    assert.match(
      config,
      /upstream twin-auth-server \{\n {4}server 127\.0\.0\.1:4001 max_fails=0;\n {4}server 127\.0\.0\.1:4003 max_fails=0;\n {4}keepalive 32;\n {4}keepalive_timeout 4s;\n {2}\}/,
    );
    assert.match(config, /location = \/token \{ proxy_pass http:\/\/twin-auth-server; \}/);
    assert.ok(
      config.indexOf('upstream twin-auth-server') < config.indexOf('server {'),
      'upstreams precede the servers',
    );
  });

  test('keeps connections to a single replica only when upstreamKeepalive is given', () => {
    const kept = renderNginxConfig(settings({ upstreamKeepalive: 8 }));
    assert.match(kept, /upstream twin-dcr-service \{\n {4}server 127\.0\.0\.1:4002 max_fails=0;\n {4}keepalive 8;/);
    assert.match(kept, /location = \/register \{ proxy_pass http:\/\/twin-dcr-service; \}/);
    assert.doesNotMatch(renderNginxConfig(settings()), /^\s*upstream /m);
    assert.throws(() => renderNginxConfig(settings({ upstreamKeepalive: 0 })), /upstreamKeepalive/);
  });

  test('refuses an upstream URL with a path, which would make nginx rewrite request URIs', () => {
    assert.throws(
      () => renderNginxConfig(settings({ upstreams: { 'auth-server': 'http://127.0.0.1:4001/api' } })),
      /must be http:\/\/host:port/,
    );
  });

  test('keeps pid and temp paths inside the given directory', () => {
    const config = renderNginxConfig(settings());
    for (const directive of [
      'pid',
      'client_body_temp_path',
      'proxy_temp_path',
      'fastcgi_temp_path',
      'uwsgi_temp_path',
      'scgi_temp_path',
    ]) {
      assert.match(config, new RegExp(`${directive} "/tmp/x/`), directive);
    }
  });
});
