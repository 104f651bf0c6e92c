// Test support for decoupled (CIBA) authentication requests: requests started as auth-server
// starts them, intents created as a TPP creates them, and a real gRPC twin of auth-server's
// tokens.v1.Tokens that records the decisions delivered to it. Not imported by main.ts.
import { randomUUID } from 'node:crypto';
import { tokensV1 } from '@obip/contracts';
import { createGrpcServer, type GrpcServer } from '@obip/grpc';
import type { DecoupledAuthentication } from '../ciba/ciba.model';
import type { StartInput } from '../ciba/ciba.rules';
import type { Consent } from '../consents/consents.model';
import { silentLogger, type ConsentFixture } from './consent-fixture';

// Sandbox customers (customers/sandbox-customers.json).
export const AMELIA = 'cust-7f3a9c1e-amelia';
export const AMELIA_CURRENT = 'acc-22289-current';
export const AMELIA_SAVINGS = 'acc-22290-savings';
export const RAHUL = 'cust-0b81d4a2-rahul';
export const RAHUL_CURRENT = 'acc-31754-current';

export const TPP = 'tpp-ciba';

/** A Pending request, as auth-server's StartAuthentication records it after /bc-authorize. */
export async function startRequest(
  fixture: ConsentFixture,
  overrides: Partial<StartInput> = {},
): Promise<DecoupledAuthentication> {
  const { authentication } = await fixture.authentications.start({
    id: `auth-${randomUUID()}`,
    clientId: TPP,
    clientName: 'Budget Buddy',
    subject: AMELIA,
    scope: 'openid accounts',
    bindingMessage: 'BB-4821',
    intentId: undefined,
    expiresAt: new Date(fixture.clock.now.getTime() + 300_000),
    ...overrides,
  });
  return authentication;
}

/** An OBIE account-access intent of `clientId`, awaiting authorisation. */
export function accountAccessIntent(fixture: ConsentFixture, clientId = TPP): Promise<Consent> {
  return fixture.consents.createAccountAccessConsent({
    clientId,
    permissions: ['ReadAccountsDetail', 'ReadBalances'],
    request: { Permissions: ['ReadAccountsDetail', 'ReadBalances'] },
    risk: {},
    expiresAt: undefined,
  });
}

/** An OBIE domestic-payment intent of `clientId`, awaiting authorisation. */
export async function paymentIntent(
  fixture: ConsentFixture,
  initiation: Record<string, unknown> = {
    InstructedAmount: { Amount: '42.50', Currency: 'GBP' },
    CreditorAccount: {
      SchemeName: 'UK.OBIE.SortCodeAccountNumber',
      Identification: '40400411111111',
      Name: 'Acme Energy',
    },
  },
  clientId = TPP,
): Promise<Consent> {
  const { consent } = await fixture.consents.createDomesticPaymentConsent({
    clientId,
    request: { Initiation: initiation },
    risk: {},
    expiresAt: undefined,
  });
  return consent;
}

/**
 * How the twin answers one CompleteAuthentication call: nothing (accepted), or an error to throw,
 * at once or when the returned promise settles.
 */
export type CompletionAnswer = (request: tokensV1.CompleteAuthenticationRequest) => void | Promise<void>;

export interface TokensTwin {
  server: GrpcServer;
  port: number;
  /** Every CompleteAuthentication call received, in order. */
  completions: tokensV1.CompleteAuthenticationRequest[];
  stop(): Promise<void>;
}

/** A real gRPC server in the place of auth-server's tokens.v1.Tokens. */
export async function startTokensTwin(port: number, answer: CompletionAnswer = () => undefined): Promise<TokensTwin> {
  const completions: tokensV1.CompleteAuthenticationRequest[] = [];
  const server = createGrpcServer({ serviceName: 'auth-server-twin', logger: silentLogger });
  server.addService(tokensV1.TokensService, {
    revokeByConsent: () => ({ revokedCount: 0 }),
    revokeByClient: () => ({ revokedCount: 0 }),
    revokeGrant: () => ({ revokedCount: 0 }),
    completeAuthentication: async (request) => {
      completions.push(request);
      await answer(request);
      return {};
    },
  });
  const bound = await server.listen('127.0.0.1', port);
  server.health.setServing('', true);
  return { server, port: bound, completions, stop: () => server.shutdown(500) };
}
