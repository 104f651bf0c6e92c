import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A Kubernetes object as JSON: `metadata` plus whatever the kind carries. */
export type KubernetesObject = Record<string, unknown> & {
  metadata?: Record<string, unknown> & { name?: string; namespace?: string; resourceVersion?: string };
};

/** The objects of one resource kind held by the fake server, keyed by namespace and name. */
export interface FakeObjectStore {
  /** A copy of the stored object, or undefined when there is none. */
  get(namespace: string, name: string): KubernetesObject | undefined;
  /**
   * Stores `object` out of band (another writer), bumping its resourceVersion, and returns the
   * stored copy. A later write that still carries the old resourceVersion is answered 409.
   */
  put(namespace: string, object: KubernetesObject): KubernetesObject;
  delete(namespace: string, name: string): boolean;
  /** Copies of every stored object, optionally of one namespace. */
  list(namespace?: string): KubernetesObject[];
}

/** One request the fake server received, in arrival order. */
export interface FakeKubernetesRequest {
  method: string;
  path: string;
  contentType: string | undefined;
  /** The parsed JSON body, when there was one. */
  body: unknown;
  /** The status code answered. */
  status: number;
}

/** Options for `loadFromOptions` of @kubernetes/client-node's KubeConfig (no TLS: the server is plain HTTP). */
export interface FakeKubeConfigOptions {
  clusters: Array<{ name: string; server: string; skipTLSVerify: boolean }>;
  users: Array<{ name: string; token: string }>;
  contexts: Array<{ name: string; cluster: string; user: string; namespace: string }>;
  currentContext: string;
}

export interface FakeKubernetesApi {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** KubeConfig options pointing at this server: `kc.loadFromOptions(api.kubeConfig())`. */
  kubeConfig(namespace?: string): FakeKubeConfigOptions;
  /** Secrets (`/api/v1/namespaces/{ns}/secrets`). */
  readonly secrets: FakeObjectStore;
  /** Leases (`/apis/coordination.k8s.io/v1/namespaces/{ns}/leases`). */
  readonly leases: FakeObjectStore;
  /**
   * Answers the next `method` request to `path` (exact path, no query) with `status` and a
   * Kubernetes Status body, without touching the store; `times` such requests in a row.
   */
  failNext(method: string, path: string, status: number, times?: number): void;
  /**
   * Runs `action` just before the next `method` request to `path` is handled, e.g. to change a
   * Secret between a client's read and its write so the write meets a real resourceVersion conflict.
   */
  beforeNext(method: string, path: string, action: () => void): void;
  /** Every request received so far. */
  readonly requests: readonly FakeKubernetesRequest[];
  close(): Promise<void>;
}

interface ResourceKind {
  /** Plural resource name, as in the URL and in Status details. */
  resource: string;
  kind: string;
  apiVersion: string;
  group: string;
  normalise?: (object: KubernetesObject) => KubernetesObject | string;
}

const SECRETS: ResourceKind = {
  resource: 'secrets',
  kind: 'Secret',
  apiVersion: 'v1',
  group: '',
  normalise: normaliseSecret,
};
const LEASES: ResourceKind = {
  resource: 'leases',
  kind: 'Lease',
  apiVersion: 'coordination.k8s.io/v1',
  group: 'coordination.k8s.io',
};

const ROUTES: Array<{ pattern: RegExp; kind: ResourceKind }> = [
  { pattern: /^\/api\/v1\/namespaces\/([^/]+)\/secrets(?:\/([^/]+))?$/, kind: SECRETS },
  { pattern: /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/([^/]+)\/leases(?:\/([^/]+))?$/, kind: LEASES },
];

const MERGE_PATCH_TYPES = ['application/merge-patch+json', 'application/strategic-merge-patch+json'];

class StatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/**
 * Starts a plain-HTTP server on 127.0.0.1, port 0, that answers the Kubernetes API paths
 * config-api's sync uses, so tests exercise @kubernetes/client-node's real HTTP calls:
 * Secrets and coordination.k8s.io/v1 Leases, each with GET (item and list), POST, PUT and PATCH
 * (JSON merge patch; strategic merge patch is treated the same, which is exact for Secrets and
 * Leases since neither has merge-keyed lists).
 *
 * It keeps the API server's optimistic concurrency: every write bumps a cluster-wide
 * resourceVersion; a PUT or PATCH carrying a stale `metadata.resourceVersion` is answered 409
 * Conflict, a POST of an existing name 409 AlreadyExists, a missing object 404 NotFound, each
 * with a `Status` body as the real server sends. Secret `stringData` is folded into `data`.
 *
 * @example
 * const api = await startFakeKubernetesApi();
 * const kc = new KubeConfig();
 * kc.loadFromOptions(api.kubeConfig());
 * const core = kc.makeApiClient(CoreV1Api);
 * after(() => api.close());
 */
export async function startFakeKubernetesApi(): Promise<FakeKubernetesApi> {
  const stores = new Map<ResourceKind, Map<string, KubernetesObject>>([
    [SECRETS, new Map()],
    [LEASES, new Map()],
  ]);
  const requests: FakeKubernetesRequest[] = [];
  const failures: Array<{ method: string; path: string; status: number; remaining: number }> = [];
  const hooks: Array<{ method: string; path: string; action: () => void }> = [];
  let revision = 0;

  const nextResourceVersion = (): string => String(++revision);
  const key = (namespace: string, name: string): string => `${namespace}/${name}`;
  const copy = <T>(value: T): T => structuredClone(value);

  function store(kind: ResourceKind): Map<string, KubernetesObject> {
    return stores.get(kind) as Map<string, KubernetesObject>;
  }

  /** Writes `object` as the new state of `name`, stamping server-owned metadata. */
  function commit(kind: ResourceKind, namespace: string, object: KubernetesObject): KubernetesObject {
    const normalised = kind.normalise ? kind.normalise(object) : object;
    if (typeof normalised === 'string') throw new StatusError(400, 'BadRequest', normalised);
    const name = String(normalised.metadata?.name ?? '');
    const previous = store(kind).get(key(namespace, name));
    const stored: KubernetesObject = {
      ...normalised,
      kind: kind.kind,
      apiVersion: kind.apiVersion,
      metadata: {
        ...normalised.metadata,
        name,
        namespace,
        uid: previous?.metadata?.uid ?? randomUUID(),
        creationTimestamp: previous?.metadata?.creationTimestamp ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        resourceVersion: nextResourceVersion(),
      },
    };
    store(kind).set(key(namespace, name), stored);
    return copy(stored);
  }

  function viewOf(kind: ResourceKind): FakeObjectStore {
    return {
      get: (namespace, name) => {
        const found = store(kind).get(key(namespace, name));
        return found ? copy(found) : undefined;
      },
      put: (namespace, object) => commit(kind, namespace, copy(object)),
      delete: (namespace, name) => store(kind).delete(key(namespace, name)),
      list: (namespace) =>
        [...store(kind).values()]
          .filter((o) => namespace === undefined || o.metadata?.namespace === namespace)
          .map(copy),
    };
  }

  function statusBody(error: StatusError): Record<string, unknown> {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: error.message,
      reason: error.reason,
      ...(error.details ? { details: error.details } : {}),
      code: error.code,
    };
  }

  function details(kind: ResourceKind, name: string): Record<string, unknown> {
    return { name, ...(kind.group ? { group: kind.group } : {}), kind: kind.resource };
  }

  function notFound(kind: ResourceKind, name: string): StatusError {
    return new StatusError(404, 'NotFound', `${kind.resource} "${name}" not found`, details(kind, name));
  }

  function requireObjectBody(body: unknown): KubernetesObject {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new StatusError(400, 'BadRequest', 'the request body must be a JSON object');
    }
    return body as KubernetesObject;
  }

  /** Rejects a write whose resourceVersion precondition no longer holds. */
  function checkResourceVersion(kind: ResourceKind, current: KubernetesObject, sent: unknown, name: string): void {
    if (sent === undefined || sent === null || sent === '') return;
    if (sent !== current.metadata?.resourceVersion) {
      throw new StatusError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${kind.resource}${kind.group ? `.${kind.group}` : ''} "${name}": ` +
          'the object has been modified; please apply your changes to the latest version and try again',
        details(kind, name),
      );
    }
  }

  function handle(
    kind: ResourceKind,
    namespace: string,
    name: string | undefined,
    method: string,
    contentType: string | undefined,
    body: unknown,
  ): { status: number; body: unknown } {
    const objects = store(kind);
    if (name === undefined) {
      if (method === 'GET') {
        const items = [...objects.values()].filter((o) => o.metadata?.namespace === namespace).map(copy);
        return {
          status: 200,
          body: {
            kind: `${kind.kind}List`,
            apiVersion: kind.apiVersion,
            metadata: { resourceVersion: String(revision) },
            items,
          },
        };
      }
      if (method === 'POST') {
        const object = requireObjectBody(body);
        const objectName = object.metadata?.name;
        if (!objectName)
          throw new StatusError(422, 'Invalid', `${kind.kind} "" is invalid: metadata.name: Required value`);
        if (objects.has(key(namespace, objectName))) {
          throw new StatusError(
            409,
            'AlreadyExists',
            `${kind.resource} "${objectName}" already exists`,
            details(kind, objectName),
          );
        }
        const { resourceVersion: _ignored, ...metadata } = object.metadata ?? {};
        return { status: 201, body: commit(kind, namespace, { ...object, metadata }) };
      }
      throw new StatusError(405, 'MethodNotAllowed', `${method} is not supported on the ${kind.resource} collection`);
    }

    const current = objects.get(key(namespace, name));
    if (method === 'GET') {
      if (!current) throw notFound(kind, name);
      return { status: 200, body: copy(current) };
    }
    if (method === 'PUT') {
      const object = requireObjectBody(body);
      if (object.metadata?.name !== name) {
        throw new StatusError(400, 'BadRequest', 'the name of the object does not match the name on the URL');
      }
      if (!current) throw notFound(kind, name);
      checkResourceVersion(kind, current, object.metadata?.resourceVersion, name);
      return { status: 200, body: commit(kind, namespace, object) };
    }
    if (method === 'PATCH') {
      const mediaType = contentType?.split(';')[0]?.trim();
      if (!mediaType || !MERGE_PATCH_TYPES.includes(mediaType)) {
        throw new StatusError(
          415,
          'UnsupportedMediaType',
          `the body of the request was in an unknown format: ${mediaType}`,
        );
      }
      const patch = requireObjectBody(body);
      if (!current) throw notFound(kind, name);
      checkResourceVersion(kind, current, patch.metadata?.resourceVersion, name);
      const merged = mergePatch(copy(current), patch) as KubernetesObject;
      return { status: 200, body: commit(kind, namespace, { ...merged, metadata: { ...merged.metadata, name } }) };
    }
    throw new StatusError(405, 'MethodNotAllowed', `${method} is not supported on ${kind.resource}`);
  }

  function take<T extends { method: string; path: string }>(list: T[], method: string, path: string): T | undefined {
    const index = list.findIndex((entry) => entry.method === method && entry.path === path);
    return index === -1 ? undefined : list[index];
  }

  async function respond(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const contentType = req.headers['content-type'];
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');

    let status: number;
    let payload: unknown;
    let body: unknown;
    try {
      try {
        body = text === '' ? undefined : JSON.parse(text);
      } catch {
        throw new StatusError(400, 'BadRequest', 'the request body is not valid JSON');
      }
      const hook = take(hooks, method, path);
      if (hook) {
        hooks.splice(hooks.indexOf(hook), 1);
        hook.action();
      }
      const failure = take(failures, method, path);
      if (failure) {
        failure.remaining -= 1;
        if (failure.remaining <= 0) failures.splice(failures.indexOf(failure), 1);
        throw new StatusError(failure.status, reasonFor(failure.status), `injected failure (${failure.status})`);
      }
      const route = ROUTES.map(({ pattern, kind }) => ({ match: pattern.exec(path), kind })).find((r) => r.match);
      if (!route?.match) throw new StatusError(404, 'NotFound', 'the server could not find the requested resource');
      const namespace = decodeURIComponent(route.match[1] as string);
      const name = route.match[2] === undefined ? undefined : decodeURIComponent(route.match[2]);
      ({ status, body: payload } = handle(route.kind, namespace, name, method, contentType, body));
    } catch (error) {
      const statusError =
        error instanceof StatusError
          ? error
          : new StatusError(500, 'InternalError', `fake API server: ${String(error)}`);
      status = statusError.code;
      payload = statusBody(statusError);
    }
    requests.push({ method, path, contentType, body, status });
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
  }

  const server: Server = createServer((req, res) => {
    respond(req, res).catch((error: unknown) => {
      res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ message: String(error) }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    kubeConfig: (namespace = 'default') => ({
      clusters: [{ name: 'fake', server: url, skipTLSVerify: true }],
      users: [{ name: 'fake-user', token: 'fake-token' }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'fake-user', namespace }],
      currentContext: 'fake',
    }),
    secrets: viewOf(SECRETS),
    leases: viewOf(LEASES),
    failNext(method, path, status, times = 1) {
      failures.push({ method: method.toUpperCase(), path, status, remaining: times });
    },
    beforeNext(method, path, action) {
      hooks.push({ method: method.toUpperCase(), path, action });
    },
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** RFC 7386 JSON Merge Patch: objects merge recursively, `null` deletes, anything else replaces. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const result: Record<string, unknown> =
    target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as object) } : {};
  for (const [name, value] of Object.entries(patch)) {
    if (value === null) delete result[name];
    else result[name] = mergePatch(result[name], value);
  }
  return result;
}

/** As the API server does on write: `stringData` folds into base64 `data`; `data` must be base64. */
function normaliseSecret(object: KubernetesObject): KubernetesObject | string {
  const { stringData, ...rest } = object as KubernetesObject & { stringData?: Record<string, string> };
  const data: Record<string, string> = { ...((rest.data as Record<string, string> | undefined) ?? {}) };
  for (const [name, value] of Object.entries(data)) {
    if (typeof value !== 'string' || Buffer.from(value, 'base64').toString('base64') !== value) {
      return `Secret in version "v1" cannot be handled as a Secret: illegal base64 data in data.${name}`;
    }
  }
  for (const [name, value] of Object.entries(stringData ?? {})) data[name] = Buffer.from(value).toString('base64');
  return { ...rest, type: rest.type ?? 'Opaque', data };
}

function reasonFor(status: number): string {
  const reasons: Record<number, string> = {
    400: 'BadRequest',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'NotFound',
    409: 'Conflict',
    410: 'Expired',
    422: 'Invalid',
    429: 'TooManyRequests',
    500: 'InternalError',
    503: 'ServiceUnavailable',
    504: 'Timeout',
  };
  return reasons[status] ?? 'Unknown';
}
