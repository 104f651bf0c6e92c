// Types for the parts of node-oidc-provider 9.x that auth-server uses. The package ships no
// types and @types/oidc-provider is not installed; these follow lib/provider.js,
// lib/helpers/errors.js and lib/adapters/memory_adapter.js of 9.13.3. Keep them narrow:
// declare what we call, not the whole engine.
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  /** What the engine hands an adapter to store: a model's payload. */
  export interface AdapterPayload {
    [key: string]: unknown;
    jti?: string;
    kind?: string;
    iat?: number;
    exp?: number;
    grantId?: string;
    clientId?: string;
    accountId?: string;
    consumed?: number;
    uid?: string;
    userCode?: string;
  }

  /** The storage contract of the engine (lib/adapters/memory_adapter.js). */
  export interface Adapter {
    upsert(id: string, payload: AdapterPayload, expiresIn: number | undefined): Promise<void>;
    find(id: string): Promise<AdapterPayload | undefined>;
    findByUserCode(userCode: string): Promise<AdapterPayload | undefined>;
    findByUid(uid: string): Promise<AdapterPayload | undefined>;
    consume(id: string): Promise<void>;
    destroy(id: string): Promise<void>;
    revokeByGrantId(grantId: string): Promise<void>;
  }

  export type AdapterFactory = (modelName: string) => Adapter;

  /** The registered client as the engine parsed it (camelCased metadata). */
  export interface ClientInstance {
    clientId: string;
    clientAuthMethod: string;
    tlsClientCertificateBoundAccessTokens?: boolean;
    dpopBoundAccessTokens?: boolean;
    [property: string]: unknown;
  }

  /** The engine's per-request context (`ctx.oidc`). */
  export interface OidcContext {
    route: string;
    client?: ClientInstance;
    entities: Record<string, unknown>;
    params?: Record<string, unknown>;
    /** The parsed request body of a POST. */
    body?: Record<string, unknown>;
    /** The grant of an authorization request being answered. */
    grant?: GrantInstance;
    isFapi(...profiles: string[]): string | undefined;
  }

  /** A Koa context with `oidc`, as the engine passes to configuration helpers. */
  export interface KoaContextWithOidc {
    req: IncomingMessage;
    res: ServerResponse;
    method: string;
    path: string;
    status: number;
    body: unknown;
    oidc: OidcContext;
    get(header: string): string;
    set(header: string, value: string): void;
  }

  export type KoaMiddleware = (ctx: KoaContextWithOidc, next: () => Promise<void>) => Promise<void>;

  export interface InteractionDetails {
    uid: string;
    prompt: { name: string; reasons: string[]; details: Record<string, unknown> };
    params: Record<string, unknown>;
    session?: { accountId: string; uid?: string };
    grantId?: string;
    lastSubmission?: Record<string, unknown>;
  }

  export interface GrantInstance {
    jti?: string;
    accountId?: string;
    clientId?: string;
    addOIDCScope(scope: string): void;
    addOIDCClaims(claims: string[]): void;
    rejectOIDCClaims(claims: string[]): void;
    addResourceScope(resource: string, scope: string): void;
    addRar(detail: unknown): void;
    /** RFC 9396 authorization_details the grant holds (features.richAuthorizationRequests). */
    rar?: unknown[];
    save(ttl?: number): Promise<string>;
    destroy(): Promise<void>;
  }

  export interface GrantModel {
    new (properties: { accountId: string; clientId: string }): GrantInstance;
    find(id: string): Promise<GrantInstance | undefined>;
  }

  export interface ModelClass {
    adapter: Adapter;
    revokeByGrantId?(grantId: string): Promise<void>;
  }

  export interface ReplayDetectionModel {
    unique(iss: string, jti: string, exp: number): Promise<boolean>;
  }

  /** A refresh token being issued (lib/models/refresh_token.js); `save` stores it. */
  export interface RefreshTokenInstance {
    'x5t#S256'?: string;
    jkt?: string;
    save(ttl?: number): Promise<string>;
  }

  /** A decoupled authentication request (lib/models/backchannel_authentication_request.js). */
  export interface BackchannelAuthenticationRequestInstance {
    /** The auth_req_id. */
    jti: string;
    clientId: string;
    accountId: string;
    scope?: string;
    /** The claims parameter, parsed. */
    claims?: { id_token?: Record<string, unknown>; userinfo?: Record<string, unknown> };
    params: Record<string, unknown>;
    /** Unix seconds. */
    exp?: number;
    /** Seconds left. */
    readonly expiration: number;
    readonly isExpired: boolean;
    grantId?: string;
    error?: string;
    error_description?: string;
  }

  export interface BackchannelAuthenticationRequestModel extends ModelClass {
    find(
      id: string,
      options?: { ignoreExpiration?: boolean },
    ): Promise<BackchannelAuthenticationRequestInstance | undefined>;
  }

  /** The client's CIBA ping (lib/models/client.js), replaced per engine by ciba.ping.ts. */
  export interface ClientPrototype {
    backchannelClientNotificationEndpoint?: string;
    backchannelPing(request: BackchannelAuthenticationRequestInstance): Promise<void>;
  }

  export class Provider {
    constructor(issuer: string, configuration?: Record<string, unknown>);
    /** The context of the request being handled (AsyncLocalStorage), if any. */
    static readonly ctx: KoaContextWithOidc | undefined;
    readonly issuer: string;
    proxy: boolean;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    use(middleware: KoaMiddleware): this;
    on(event: string, listener: (...args: never[]) => void): this;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
    interactionFinished(
      req: IncomingMessage,
      res: ServerResponse,
      result: Record<string, unknown>,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<void>;
    urlFor(name: string): string;
    readonly Grant: GrantModel;
    readonly ReplayDetection: ReplayDetectionModel;
    readonly AccessToken: ModelClass;
    readonly RefreshToken: ModelClass & { prototype: RefreshTokenInstance };
    readonly AuthorizationCode: ModelClass;
    readonly Client: ModelClass & {
      find(id: string): Promise<ClientInstance | undefined>;
      prototype: ClientPrototype;
    };
    readonly BackchannelAuthenticationRequest: BackchannelAuthenticationRequestModel;
    /** Records the outcome of a decoupled request: a grant, or an error for the client's next poll. */
    backchannelResult(
      request: BackchannelAuthenticationRequestInstance,
      result: GrantInstance | errors.OIDCProviderError,
      options?: { acr?: string; amr?: string[]; authTime?: number },
    ): Promise<void>;
  }

  export namespace errors {
    class OIDCProviderError extends Error {
      error: string;
      error_description?: string;
      status: number;
      statusCode: number;
      expose: boolean;
    }
    class InvalidGrant extends OIDCProviderError {
      constructor(detail?: string);
    }
    class InvalidTarget extends OIDCProviderError {
      constructor(description?: string);
    }
    class InvalidClientAuth extends OIDCProviderError {
      constructor(detail?: string);
    }
    class InvalidRequest extends OIDCProviderError {
      constructor(description?: string, status?: number);
    }
    class AccessDenied extends OIDCProviderError {
      constructor(description?: string);
    }
    class TemporarilyUnavailable extends OIDCProviderError {
      constructor(description?: string);
    }
    class InvalidRequestUri extends OIDCProviderError {
      constructor(description?: string);
    }
    class InvalidClient extends OIDCProviderError {
      constructor(description?: string);
    }
    class InvalidBindingMessage extends OIDCProviderError {
      constructor(description?: string);
    }
    class SlowDown extends OIDCProviderError {
      constructor(description?: string);
    }
    class UnknownUserId extends OIDCProviderError {
      constructor(description?: string);
    }
    class InvalidAuthorizationDetails extends OIDCProviderError {
      constructor(description?: string);
    }
    class InvalidDpopProof extends OIDCProviderError {
      constructor(description?: string);
    }
  }

  export default Provider;
}
