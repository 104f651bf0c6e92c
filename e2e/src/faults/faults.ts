// What the fault suite needs beyond platform.ts: raw, timed TPP calls through the edge (status
// and duration of every request, a hang cut at a deadline instead of holding the test), a bounded
// load loop, readiness polling on the ops ports, /metrics sampling, and the retry rule of a client
// that survives a rolling restart.
import { randomUUID } from 'node:crypto';
import { importJWK, SignJWT } from 'jose';
import { fetch as undiciFetch, type Agent } from 'undici';
import type { TestSoftware } from '@obip/testing';
import { SERVICES, startPlatform, type Platform, type PlatformOptions, type ServiceName } from '../platform/platform';

/** One request as the caller saw it: the status (0 when no response came) and how long it took. */
export interface Outcome {
  status: number;
  /** The parsed JSON body, or the text of any other body. */
  body: unknown;
  /** Response headers (none when no response came). */
  headers: Record<string, string>;
  ms: number;
  /** When the request was sent (epoch ms). */
  at: number;
  /** The network error's code when no response came (ECONNREFUSED, ECONNRESET, TimeoutError). */
  error?: string;
}

/** A request that gets no answer within this time counts as a hang (status 0, error TimeoutError). */
export const HANG_MS = 15_000;

/**
 * Sends one request and measures it; network failures and timeouts become outcomes, never throws.
 *
 * @example
 * const outcome = await timedRequest(`${platform.twin.mtlsUrl}/token`, { method: 'POST', body, dispatcher });
 */
export async function timedRequest(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string; dispatcher?: Agent },
): Promise<Outcome> {
  const at = Date.now();
  try {
    const response = await undiciFetch(url, { ...init, signal: AbortSignal.timeout(HANG_MS) });
    const text = await response.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    return { status: response.status, body, headers: Object.fromEntries(response.headers), ms: Date.now() - at, at };
  } catch (error) {
    return { status: 0, body: undefined, headers: {}, ms: Date.now() - at, at, error: networkErrorCode(error) };
  }
}

function networkErrorCode(error: unknown): string {
  const cause = (error as { cause?: { code?: string; name?: string } }).cause;
  return cause?.code ?? cause?.name ?? (error as Error).name ?? 'unknown';
}

/** The OAuth `error` (or OBIE `Errors[0].ErrorCode`) of an outcome's body, if any. */
export function errorCode(outcome: Outcome): string | undefined {
  const body = outcome.body as { error?: string; Errors?: { ErrorCode?: string }[] } | undefined;
  return body?.error ?? body?.Errors?.[0]?.ErrorCode;
}

/**
 * The retry rule of a TPP that rides out a rolling restart, and nothing more: retry only when
 * the request cannot have reached a service — no response at all with ECONNREFUSED or
 * ECONNRESET/socket closed before any byte, or the edge's own 502/503 page (an HTML body from
 * nginx for an upstream that refused the connection). A 503 from a service (a JSON body), any 4xx,
 * a 5xx with a JSON body and a timeout are failures, never retried.
 */
export function isRetryable(outcome: Outcome): boolean {
  if (outcome.status === 0) return ['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET'].includes(outcome.error ?? '');
  return (outcome.status === 502 || outcome.status === 503) && isEdgePage(outcome);
}

/** True for a body nginx wrote itself (its HTML error page), not a service's JSON answer. */
export function isEdgePage(outcome: Outcome): boolean {
  return typeof outcome.body === 'string' && outcome.body.includes('nginx');
}

/**
 * Sends `request()` again while {@link isRetryable} says it never reached a service, waiting
 * 100 ms between attempts, for at most `budgetMs`. Returns the final outcome and the attempts.
 */
export async function withRetries(
  request: () => Promise<Outcome>,
  budgetMs = 30_000,
): Promise<{ outcome: Outcome; attempts: number }> {
  const deadline = Date.now() + budgetMs;
  for (let attempts = 1; ; attempts += 1) {
    const outcome = await request();
    if (!isRetryable(outcome) || Date.now() > deadline) return { outcome, attempts };
    await sleep(100);
  }
}

/**
 * Runs `workers` loops of `request()` until `stop()` or `maxRequests` in all, and keeps every
 * outcome: a load that is bounded in count as well as in time.
 *
 * @example
 * const load = startLoad(() => tokenRequest(tpp), { workers: 4, maxRequests: 2000 });
 * ...; const outcomes = await load.stop();
 */
export function startLoad(
  request: () => Promise<Outcome>,
  options: { workers: number; maxRequests: number; pauseMs?: number },
): { outcomes: Outcome[]; stop(): Promise<Outcome[]> } {
  const outcomes: Outcome[] = [];
  let stopped = false;
  let sent = 0;
  const worker = async () => {
    while (!stopped && sent < options.maxRequests) {
      sent += 1;
      outcomes.push(await request());
      if (options.pauseMs) await sleep(options.pauseMs);
    }
  };
  const workers = Array.from({ length: options.workers }, worker);
  return {
    outcomes,
    async stop() {
      stopped = true;
      await Promise.all(workers);
      return outcomes;
    },
  };
}

/** A registered TPP as the fault tests drive it: raw requests with its own client assertions. */
export interface Tpp {
  software: TestSoftware;
  clientId: string;
  agent: Agent;
  registrationAccessToken: string;
}

/** Registers a new software through the edge (OBIE DCR) and keeps what the raw calls need. */
export async function registerTpp(
  platform: Pick<Platform, 'directory' | 'register' | 'tppAgent'>,
  claims: Record<string, unknown> = {},
): Promise<Tpp> {
  const software = await platform.directory.registerSoftware({ roles: ['AISP', 'PISP'] });
  const registered = await platform.register(software, { response_types: ['code'], ...claims });
  return {
    software,
    clientId: registered.client_id,
    agent: platform.tppAgent(software),
    registrationAccessToken: registered.registration_access_token,
  };
}

/**
 * A private_key_jwt client assertion (RFC 7523) for `aud`, valid from now for 60 s; `shiftSeconds`
 * moves iat/nbf/exp as a TPP whose clock is that far off would set them.
 */
export async function clientAssertion(
  tpp: Tpp,
  aud: string,
  options: { shiftSeconds?: number; claims?: Record<string, unknown> } = {},
): Promise<string> {
  const { signingKey } = tpp.software;
  const key = await importJWK(signingKey.privateJwk as Parameters<typeof importJWK>[0], signingKey.alg);
  const now = Math.floor(Date.now() / 1000) + (options.shiftSeconds ?? 0);
  return new SignJWT({ jti: randomUUID(), iat: now, nbf: now, exp: now + 60, ...options.claims })
    .setProtectedHeader({ alg: signingKey.alg, kid: signingKey.kid, typ: 'JWT' })
    .setIssuer(tpp.clientId)
    .setSubject(tpp.clientId)
    .setAudience(aud)
    .sign(key);
}

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** The form fields of private_key_jwt client authentication. */
export function clientAuthFields(tpp: Tpp, assertion: string): Record<string, string> {
  return { client_id: tpp.clientId, client_assertion_type: JWT_BEARER, client_assertion: assertion };
}

/** POST of a form to the edge's mTLS host with the TPP's certificate. */
export function postForm(platform: Platform, tpp: Tpp, path: string, fields: Record<string, string>, headers = {}) {
  return timedRequest(`${platform.twin.mtlsUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...headers },
    body: new URLSearchParams(fields).toString(),
    dispatcher: tpp.agent,
  });
}

/**
 * startPlatform with a bank gateway: a TPP registered through DCR and named to token-introspection
 * as a resource server, so that the raw introspection calls of the fault tests are admitted.
 */
export async function startPlatformWithGatewayTpp(
  options: Omit<PlatformOptions, 'startLate' | 'lateEnv'>,
): Promise<{ platform: Platform; gateway: Tpp }> {
  let gateway: Tpp | undefined;
  const platform = await startPlatform({
    ...options,
    startLate: ['token-introspection'],
    lateEnv: async (started) => {
      gateway = await registerTpp(started);
      return { 'token-introspection': { RESOURCE_SERVER_CLIENT_IDS: gateway.clientId } };
    },
  });
  return { platform, gateway: gateway! };
}

/** A client_credentials token request with a fresh assertion. */
export async function tokenRequest(platform: Platform, tpp: Tpp, scope = 'accounts'): Promise<Outcome> {
  const assertion = await clientAssertion(tpp, platform.issuer);
  return postForm(platform, tpp, '/token', {
    grant_type: 'client_credentials',
    scope,
    ...clientAuthFields(tpp, assertion),
  });
}

/** RFC 7662 introspection by a resource server (a registered client named in RESOURCE_SERVER_CLIENT_IDS). */
export async function introspectRequest(platform: Platform, caller: Tpp, token: string): Promise<Outcome> {
  const assertion = await clientAssertion(caller, platform.issuer);
  return postForm(platform, caller, '/introspect', { token, ...clientAuthFields(caller, assertion) });
}

/** A service's ops endpoint (`/readyz`, `/metrics`), straight to its ops port. */
export function opsRequest(platform: Platform, name: ServiceName, path: '/readyz' | '/livez' | '/metrics') {
  return timedRequest(`http://127.0.0.1:${platform.service(name).ports.ops}${path}`, {});
}

/** What a service's /readyz says now: for the message when a wait for readiness ran out. */
export async function readinessNow(platform: Platform, name: ServiceName): Promise<string> {
  const outcome = await opsRequest(platform, name, '/readyz');
  return `/readyz answers ${outcome.status}${outcome.error ? ` (${outcome.error})` : ''}: ${JSON.stringify(outcome.body)?.slice(0, 500) ?? ''}`;
}

/** Polls until `condition()` holds; resolves with the time it took, or undefined at the deadline. */
export async function waitUntil(
  condition: () => Promise<boolean>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<number | undefined> {
  const startedAt = Date.now();
  while (Date.now() - startedAt <= timeoutMs) {
    if (await condition()) return Date.now() - startedAt;
    await sleep(intervalMs);
  }
  return undefined;
}

/** Per service, how long after now /readyz first answered `status` (undefined: not within timeoutMs). */
export async function timeUntilReadiness(
  platform: Platform,
  status: 200 | 503,
  timeoutMs: number,
  services: readonly ServiceName[] = SERVICES,
): Promise<Record<ServiceName, number | undefined>> {
  const entries = await Promise.all(
    services.map(
      async (name) =>
        [
          name,
          await waitUntil(async () => (await opsRequest(platform, name, '/readyz')).status === status, timeoutMs),
        ] as const,
    ),
  );
  return Object.fromEntries(entries) as Record<ServiceName, number | undefined>;
}

/**
 * The sum of a Prometheus counter's samples whose labels include `labels`, from a /metrics text.
 *
 * @example
 * sumSamples(text, 'http_request_duration_seconds_count', { status_class: '5xx' })
 */
export function sumSamples(metricsText: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of metricsText.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const match = /^[^{ ]+(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const present = Object.fromEntries([...(match[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => present[key] === value)) sum += Number(match[2]);
  }
  return sum;
}

/** The number of 5xx answers a service has counted in its HTTP histogram. */
export async function serverErrorCount(platform: Platform, name: ServiceName): Promise<number> {
  const metrics = await opsRequest(platform, name, '/metrics');
  if (metrics.status !== 200) throw new Error(`${name} /metrics answered ${metrics.status}`);
  return sumSamples(metrics.body as string, 'http_request_duration_seconds_count', { status_class: '5xx' });
}

/** The longest duration among outcomes (0 for none). */
export function longest(outcomes: readonly Outcome[]): number {
  return outcomes.reduce((max, outcome) => Math.max(max, outcome.ms), 0);
}

/** Counts outcomes by `status` (and network error), for diagnostics. */
export function tally(outcomes: readonly Outcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const outcome of outcomes) {
    const key =
      outcome.status === 0
        ? `error:${outcome.error}`
        : `${outcome.status}${errorCode(outcome) ? ` ${errorCode(outcome)}` : ''}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
