// What the hostile-input corpus for dcr-service, consent-service, token-introspection and the
// gRPC surfaces needs beyond platform.ts: a look into a service's own database (every
// collection's document count, so a refused request provably changed nothing), calls that
// return status and body whatever they are, and a TCP relay in front of a store that can be
// frozen (the store accepts connections and never answers: what a hung dependency looks like).
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Client as GrpcClient, Metadata, credentials as grpcCredentials, type ServiceError } from '@grpc/grpc-js';
import mongoose from 'mongoose';
import { fetch as undiciFetch, type Dispatcher } from 'undici';
import { testMongoUrl } from '@obip/testing';

/** A service of the platform that owns a database (platform.ts names them `<platform>_<suffix>`). */
export type DatabaseOwner = 'dcr' | 'consent' | 'auth';

/**
 * The document count of every collection in a platform service's database, by collection
 * name. Two equal snapshots around a refused request show it stored nothing (and deleted
 * nothing).
 *
 * @example
 * const before = await databaseSnapshot('hostile_dcr', 'dcr');
 */
export async function databaseSnapshot(
  platformName: string,
  owner: DatabaseOwner,
  mongoUrl: string = testMongoUrl(`${platformName}_${owner}`),
): Promise<Record<string, number>> {
  const connection = await mongoose.createConnection(mongoUrl, { serverSelectionTimeoutMS: 5_000 }).asPromise();
  try {
    const db = connection.db!;
    const names = (await db.listCollections({}, { nameOnly: true }).toArray()).map((entry) => entry.name).sort();
    const counts: Record<string, number> = {};
    for (const name of names) counts[name] = await db.collection(name).countDocuments({});
    return counts;
  } finally {
    await connection.close();
  }
}

/**
 * One document of a platform service's database, read back as stored (`_id` is the key).
 *
 * @example
 * const consent = await storedDocument('hostile_consent', 'consent', 'consents', consentId);
 */
export async function storedDocument(
  platformName: string,
  owner: DatabaseOwner,
  collection: string,
  id: string,
  mongoUrl: string = testMongoUrl(`${platformName}_${owner}`),
): Promise<Record<string, unknown> | null> {
  const connection = await mongoose.createConnection(mongoUrl, { serverSelectionTimeoutMS: 5_000 }).asPromise();
  try {
    return await connection.db!.collection<{ _id: string }>(collection).findOne({ _id: id });
  } finally {
    await connection.close();
  }
}

/** A response as the corpus asserts on it: the status, the headers and the body (JSON when it parses). */
export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  body: Record<string, unknown> | undefined;
}

/**
 * An HTTP call through the edge that never throws on a status: what a hostile client would see.
 *
 * @example
 * const reply = await send(`${twin.mtlsUrl}/register`, { method: 'POST', body: 'x', headers: {...}, dispatcher });
 */
export async function send(
  url: string,
  init: { method: string; headers?: Record<string, string>; body?: string | Buffer; dispatcher?: Dispatcher },
): Promise<Reply> {
  const response = await undiciFetch(url, {
    method: init.method,
    headers: init.headers ?? {},
    ...(init.body === undefined ? {} : { body: init.body }),
    ...(init.dispatcher ? { dispatcher: init.dispatcher } : {}),
  });
  const text = await response.text();
  let body: Record<string, unknown> | undefined;
  try {
    body = text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>);
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers as unknown as Headers, text, body };
}

/** No 5xx and no stack trace: what every refusal of hostile input must satisfy (ARCHITECTURE). */
export function assertCleanRefusal(reply: Reply, what: string): void {
  assert.ok(reply.status < 500, `${what}: ${reply.status} ${reply.text.slice(0, 300)}`);
  assert.doesNotMatch(
    reply.text,
    /\bat [\w.<>]+ \(|node:internal|\/src\/[\w/.-]+\.ts/,
    `${what}: a stack trace leaked`,
  );
}

/** The OBIE error envelope's item codes (OBIE Read/Write API "Error Response Structure"). */
export function obieErrorCodes(reply: Reply): string[] {
  const errors = (reply.body as { Errors?: Array<{ ErrorCode?: string }> } | undefined)?.Errors ?? [];
  return errors.map((item) => String(item.ErrorCode));
}

export interface FreezableRelay {
  /** `127.0.0.1:<port>`: put it where the store's address would be. */
  readonly address: string;
  /**
   * From now on nothing is relayed either way and new connections are accepted but never
   * connected onwards: the store looks alive at the TCP level and never answers.
   */
  freeze(): void;
  /** Relays again; connections that were held while frozen are dropped (clients reconnect). */
  thaw(): void;
  stop(): Promise<void>;
}

/**
 * A TCP relay to `target` (host:port) that can be frozen: a hung dependency (a store stuck in a
 * long GC, a half-open connection after a network partition) without touching the store.
 *
 * @example
 * const relay = await startFreezableRelay(new URL(mongoUrl).host);
 * relay.freeze(); // every MongoDB operation now waits for an answer that never comes
 */
export async function startFreezableRelay(target: string): Promise<FreezableRelay> {
  const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  let frozen = false;
  const pairs = new Set<{ client: Socket; upstream?: Socket }>();
  const server: Server = createServer((client) => {
    const pair: { client: Socket; upstream?: Socket } = { client };
    pairs.add(pair);
    client.on('error', () => undefined);
    client.on('close', () => {
      pair.upstream?.destroy();
      pairs.delete(pair);
    });
    if (frozen) {
      // Accepted and read, never answered.
      client.on('data', () => undefined);
      return;
    }
    const upstream = connect({ host, port });
    pair.upstream = upstream;
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => client.destroy());
    client.on('data', (chunk) => {
      if (!frozen) upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (!frozen) client.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    address,
    freeze() {
      frozen = true;
    },
    thaw() {
      frozen = false;
      for (const pair of pairs) pair.client.destroy();
    },
    async stop() {
      for (const pair of pairs) pair.client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** One method of a generated (ts-proto, grpc-js) service definition. */
interface UnaryMethodDefinition {
  path: string;
  requestSerialize(value: never): Buffer;
  responseDeserialize(bytes: Buffer): unknown;
}

/** How a raw gRPC call ended: its status code (0 is OK), details, and how long it took. */
export interface RawCallOutcome {
  code: number;
  details: string;
  /** The domain error code our servers send in `obip-error-code` (libs/grpc), '' when none. */
  errorCode: string;
  response: unknown;
  elapsedMs: number;
}

/**
 * A unary gRPC call as a hostile or careless peer makes it, bypassing `@obip/grpc`'s client
 * (which always sets a deadline): no deadline unless `deadlineMs` is given, any request size.
 * The caller's own `giveUpMs` (default 60 000) only keeps a test from hanging: a call still
 * running then resolves with code -1.
 *
 * @example
 * const outcome = await rawUnaryCall(platform.grpcAddress('consent-service'), consentsV1.ConsentsService.getConsent, { consentId: 'x' });
 */
export function rawUnaryCall<Req>(
  address: string,
  method: UnaryMethodDefinition & { requestSerialize(value: Req): Buffer },
  request: Req,
  options: { deadlineMs?: number; giveUpMs?: number } = {},
): Promise<RawCallOutcome> {
  const client = new GrpcClient(address, grpcCredentials.createInsecure());
  const startedAt = Date.now();
  return new Promise<RawCallOutcome>((resolve) => {
    const giveUp = setTimeout(() => {
      call.cancel();
      resolve({
        code: -1,
        details: 'still running when the test gave up',
        errorCode: '',
        response: undefined,
        elapsedMs: Date.now() - startedAt,
      });
    }, options.giveUpMs ?? 60_000);
    const call = client.makeUnaryRequest(
      method.path,
      (value: Req) => method.requestSerialize(value),
      (bytes: Buffer) => method.responseDeserialize(bytes),
      request,
      new Metadata(),
      options.deadlineMs === undefined ? {} : { deadline: Date.now() + options.deadlineMs },
      (error: ServiceError | null, response: unknown) => {
        clearTimeout(giveUp);
        resolve({
          code: error ? error.code : 0,
          details: error ? error.details : '',
          errorCode: String(error?.metadata?.get('obip-error-code')[0] ?? ''),
          response,
          elapsedMs: Date.now() - startedAt,
        });
      },
    );
  }).finally(() => client.close());
}
