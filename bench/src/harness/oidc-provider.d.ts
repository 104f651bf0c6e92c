// The part of node-oidc-provider 9.x the engine baselines use (the package ships no types;
// auth-server keeps its own narrow declarations, which a bench may not import).
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export interface AdapterPayload {
    [key: string]: unknown;
    grantId?: string;
    uid?: string;
    userCode?: string;
    consumed?: number;
  }

  export interface Adapter {
    upsert(id: string, payload: AdapterPayload, expiresIn: number | undefined): Promise<void>;
    find(id: string): Promise<AdapterPayload | undefined>;
    findByUserCode(userCode: string): Promise<AdapterPayload | undefined>;
    findByUid(uid: string): Promise<AdapterPayload | undefined>;
    consume(id: string): Promise<void>;
    destroy(id: string): Promise<void>;
    revokeByGrantId(grantId: string): Promise<void>;
  }

  export interface KoaContextWithOidc {
    req: IncomingMessage;
    res: ServerResponse;
  }

  interface SavableModel {
    save(): Promise<string>;
  }

  interface GrantInstance extends SavableModel {
    addOIDCScope(scope: string): void;
    addResourceScope(resource: string, scope: string): void;
  }

  export const errors: {
    InvalidTarget: new (description?: string) => Error;
    InvalidRequest: new (description?: string) => Error;
  };

  export class Provider {
    constructor(issuer: string, configuration?: Record<string, unknown>);
    /** Trust X-Forwarded-Proto/-Host (Koa's `app.proxy`). */
    proxy: boolean;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    on(event: string, listener: (...args: never[]) => void): this;
    readonly Grant: new (properties: { accountId: string; clientId: string }) => GrantInstance;
    readonly AccessToken: new (properties: Record<string, unknown>) => SavableModel;
    readonly ClientCredentials: {
      new (properties: Record<string, unknown>): SavableModel;
      find(value: string): Promise<Record<string, unknown> | undefined>;
    };
  }
  export default Provider;
}
