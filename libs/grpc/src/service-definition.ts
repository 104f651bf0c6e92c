/**
 * The shape of one method in a ts-proto `outputServices=grpc-js` service definition (e.g.
 * `tokensV1.TokensService.revokeByConsent`). Parameters are `never` and results `unknown` so that
 * every concrete method fits; {@link RequestOf} and {@link ResponseOf} recover the real types.
 */
export interface MethodShape {
  readonly path: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
  readonly requestSerialize: (value: never) => Buffer;
  readonly requestDeserialize: (bytes: Buffer) => unknown;
  readonly responseSerialize: (value: never) => Buffer;
  readonly responseDeserialize: (bytes: Buffer) => unknown;
}

/** A generated service definition, e.g. `tokensV1.TokensService`. */
export type ServiceShape = { readonly [method: string]: MethodShape };

export type RequestOf<M> = M extends { requestDeserialize: (bytes: Buffer) => infer Req } ? Req : never;
export type ResponseOf<M> = M extends { responseDeserialize: (bytes: Buffer) => infer Res } ? Res : never;

/** Method names (the definition's keys, e.g. `revokeByConsent`) of request-response methods. */
export type UnaryMethodName<S extends ServiceShape> = {
  [K in keyof S & string]: S[K] extends { requestStream: false; responseStream: false } ? K : never;
}[keyof S & string];

/** Method names of methods that take one request and stream responses back. */
export type ServerStreamMethodName<S extends ServiceShape> = {
  [K in keyof S & string]: S[K] extends { requestStream: false; responseStream: true } ? K : never;
}[keyof S & string];

/** A method with its real request and response types, for the code that (de)serialises. */
export interface TypedMethod<Req, Res> {
  readonly path: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
  readonly requestSerialize: (value: Req) => Buffer;
  readonly requestDeserialize: (bytes: Buffer) => Req;
  readonly responseSerialize: (value: Res) => Buffer;
  readonly responseDeserialize: (bytes: Buffer) => Res;
}

/**
 * Method `name` of `definition` with its real types. The one cast: TypeScript cannot see through
 * the `never`/`unknown` of {@link MethodShape}, but RequestOf/ResponseOf are read off the same
 * functions, so the types are exact.
 */
export function methodOf<S extends ServiceShape, K extends keyof S & string>(
  definition: S,
  name: K,
): TypedMethod<RequestOf<S[K]>, ResponseOf<S[K]>> {
  const method = definition[name];
  if (method === undefined) throw new TypeError(`the service definition has no method ${name}`);
  return method as unknown as TypedMethod<RequestOf<S[K]>, ResponseOf<S[K]>>;
}

/** Splits `/obip.tokens.v1.Tokens/RevokeByConsent` into its service and method names. */
export function parseMethodPath(path: string): { service: string; method: string } {
  const match = /^\/([^/]+)\/([^/]+)$/.exec(path);
  if (!match?.[1] || !match[2]) throw new TypeError(`not a gRPC method path: ${path}`);
  return { service: match[1], method: match[2] };
}
