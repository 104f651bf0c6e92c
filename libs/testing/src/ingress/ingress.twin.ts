import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writePkiFiles } from '../pki/pki.files';
import type { TestPki } from '../pki/test-pki';
import {
  findOnPath,
  freePort,
  isPortOpen,
  spawnServer,
  startOnFreshPorts,
  waitUntilReady,
} from '../servers/server.process';
import { loadRouteTable, type RouteTable } from './ingress.routes';
import { renderNginxConfig, type VerifyClientMode } from './nginx.config';

export interface StartIngressTwinOptions {
  /** Default: `charts/obip/files/routes.json`. */
  routes?: RouteTable;
  /** Issues the twin's server certificate and provides the client CA bundle. */
  pki: TestPki;
  /**
   * Service name → `http://127.0.0.1:<port>`, or a list for several replicas (balanced round
   * robin); routes to a service not listed answer 503.
   */
  upstreams: Record<string, string | readonly string[]>;
  /** Idle keep-alive connections to each service's replicas; see `NginxTwinSettings.upstreamKeepalive`. */
  upstreamKeepalive?: number;
  /** `ssl_verify_client` on the mTLS host. Default `on`. */
  verifyClient?: VerifyClientMode;
  /** Where nginx's output is written; the twin's temp dir by default. */
  logDir?: string;
  /** Start-up budget. Default 10 s. */
  timeoutMs?: number;
  /** A master and a worker, so `reloadCommand` works (default: one process, which cannot reload). */
  reloadable?: boolean;
  /** Fixed ports (the sandbox wants stable URLs); free ones by default. */
  ports?: { public: number; mtls: number };
}

export interface IngressTwin {
  /** `https://127.0.0.1:<port>`: the public host (no client certificate). */
  readonly publicUrl: string;
  /** `https://127.0.0.1:<port>`: the mTLS host. */
  readonly mtlsUrl: string;
  readonly publicPort: number;
  readonly mtlsPort: number;
  /** The nginx process (its only process unless `reloadable`), e.g. for its RSS and CPU time. */
  readonly pid: number;
  /** The rendered nginx.conf, for assertions and failure reports. */
  readonly configText: string;
  /** Trust anchors for clients of the twin (the server certificate chains to this). */
  readonly caBundlePem: string;
  /**
   * The CA bundle file nginx verifies client certificates with (`ssl_client_certificate`); what
   * config-api's local sink writes, as it writes the ingress Secret in a cluster.
   */
  readonly clientCaBundleFile: string;
  /** The command that makes this nginx re-read its configuration and CA bundle (`-s reload`). */
  readonly reloadCommand: readonly string[];
  /** nginx access and error log so far. */
  logs(): string;
  /** Stops nginx and removes the temp dir. */
  stop(): Promise<void>;
}

/**
 * Starts the ingress twin: a real nginx with the public and mTLS hosts on two 127.0.0.1 ports,
 * configured from the route table the Helm chart uses (see `renderNginxConfig`). Its server
 * certificate is issued by `pki` for `localhost` and `127.0.0.1`.
 *
 * @example
 * const twin = await startIngressTwin({ pki, upstreams: { 'auth-server': authUrl } });
 * t.after(() => twin.stop());
 * // https.request(`${twin.mtlsUrl}/token`, { ca: pki.caBundlePem, cert: tpp.chainPem, key: tpp.keyPem })
 */
export async function startIngressTwin(options: StartIngressTwinOptions): Promise<IngressTwin> {
  if (options.ports) return startIngressTwinOn(options, options.ports);
  return startOnFreshPorts(async () =>
    startIngressTwinOn(options, { public: await freePort(), mtls: await freePort() }),
  );
}

/**
 * nginx logs its version (ngx_os_status) only once it has bound every listening socket; an open
 * port alone could be another process's that took the port first.
 */
const LISTENING = /\[notice\] \d+#\d+: nginx\//;

async function startIngressTwinOn(
  options: StartIngressTwinOptions,
  ports: NonNullable<StartIngressTwinOptions['ports']>,
): Promise<IngressTwin> {
  const nginx = process.env.NGINX_BIN ?? findOnPath('nginx') ?? '/usr/sbin/nginx';
  const dir = mkdtempSync(join(tmpdir(), 'obip-ingress-'));
  try {
    const files = await writePkiFiles(join(dir, 'pki'), options.pki);
    const { public: publicPort, mtls: mtlsPort } = ports;
    const logDir = options.logDir ?? dir;
    mkdirSync(logDir, { recursive: true });
    const accessLog = join(logDir, `nginx-${publicPort}-access.log`);
    const configText = renderNginxConfig({
      routes: options.routes ?? loadRouteTable(),
      upstreams: options.upstreams,
      upstreamKeepalive: options.upstreamKeepalive,
      ports: { public: publicPort, mtls: mtlsPort },
      files,
      dir,
      accessLog,
      verifyClient: options.verifyClient,
      reloadable: options.reloadable,
    });
    const configFile = join(dir, 'nginx.conf');
    writeFileSync(configFile, configText);

    const server = spawnServer({
      name: `nginx ingress twin :${publicPort}/:${mtlsPort}`,
      command: nginx,
      // -e: nginx opens its compiled-in error log before reading the config; keep it off /var/log.
      args: ['-p', dir, '-c', configFile, '-e', 'stderr'],
      logFile: join(logDir, `nginx-${publicPort}-error.log`),
    });
    // A port taken by another process is not ready: nginx retries the bind for 2.5 s, then exits
    // with "Address already in use", which waitUntilReady reports.
    await waitUntilReady(
      server,
      async () => LISTENING.test(server.logs()) && (await isPortOpen(publicPort)) && (await isPortOpen(mtlsPort)),
      options.timeoutMs ?? 10_000,
    );

    let finalAccessLog: string | undefined;
    const accessLogText = (): string =>
      finalAccessLog ?? (existsSync(accessLog) ? `--- access log ---\n${readFileSync(accessLog, 'utf8')}` : '');

    return {
      publicUrl: `https://127.0.0.1:${publicPort}`,
      mtlsUrl: `https://127.0.0.1:${mtlsPort}`,
      publicPort,
      mtlsPort,
      pid: server.pid,
      configText,
      caBundlePem: options.pki.caBundlePem,
      clientCaBundleFile: files.caBundle,
      reloadCommand: [nginx, '-p', dir, '-c', configFile, '-e', 'stderr', '-s', 'reload'],
      logs: () => `${server.logs()}${accessLogText()}`,
      async stop() {
        await server.stop();
        finalAccessLog = accessLogText();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
