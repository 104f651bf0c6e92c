// What a TPP does at the platform's OBIE intent APIs and authorisation endpoint beyond the
// account-access helpers of platform.ts: payment consents (with x-idempotency-key), FAPI 2.0 PAR
// for any scope (payments, RAR details, DPoP-bound), and the customer's revocation in the portal.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as oidc from 'openid-client';
import { fetch as undiciFetch } from 'undici';
import type { FormBrowser, PageResponse, TestSoftware } from '@obip/testing';
import type { ObieConsentResponse, Platform } from '../platform/platform';

export const ACCOUNT_ACCESS_CONSENTS = '/open-banking/v3.1/aisp/account-access-consents';
export const DOMESTIC_PAYMENT_CONSENTS = '/open-banking/v3.1/pisp/domestic-payment-consents';

/**
 * An OBIE PIS 3.1 domestic payment Initiation that consent-service accepts: GBP, a creditor with
 * a (fictional, 99-xx-xx) sort code and account number, a reference.
 */
export function domesticPaymentInitiation(amount: string, reference = 'Invoice 1042') {
  return {
    InstructionIdentification: `INSTR-${randomUUID().slice(0, 8)}`,
    EndToEndIdentification: `E2E-${randomUUID().slice(0, 8)}`,
    InstructedAmount: { Amount: amount, Currency: 'GBP' },
    CreditorAccount: {
      SchemeName: 'UK.OBIE.SortCodeAccountNumber',
      Identification: '99020212345678',
      Name: 'Corner Shop Ltd',
    },
    RemittanceInformation: { Reference: reference },
  };
}

/**
 * POST /pisp/domestic-payment-consents through the edge's mTLS host with a client_credentials
 * token of scope `payments`, and the x-idempotency-key the OBIE write APIs require.
 */
export async function createDomesticPaymentConsent(
  platform: Pick<Platform, 'twin' | 'tppAgent'>,
  software: TestSoftware,
  token: string,
  initiation: Record<string, unknown>,
): Promise<{ status: number; body: ObieConsentResponse & { Data: { Initiation?: unknown } } }> {
  const response = await undiciFetch(`${platform.twin.mtlsUrl}${DOMESTIC_PAYMENT_CONSENTS}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      accept: 'application/json',
      'content-type': 'application/json',
      'x-idempotency-key': randomUUID(),
    },
    body: JSON.stringify({ Data: { Initiation: initiation }, Risk: {} }),
    dispatcher: platform.tppAgent(software),
  });
  return {
    status: response.status,
    body: (await response.json()) as ObieConsentResponse & { Data: { Initiation?: unknown } },
  };
}

export interface AuthorizationRequest {
  redirectUri: string;
  /** e.g. `openid payments`. */
  scope: string;
  /** The OBIE intent, requested as an essential `openbanking_intent_id` ID token claim. */
  consentId?: string;
  /** RFC 9396 authorization_details (no intent then: auth-server records a generic consent). */
  authorizationDetails?: unknown[];
  /** RFC 9449: binds the code, and so the tokens, to this DPoP key. */
  DPoP?: oidc.DPoPHandle;
}

/**
 * FAPI 2.0 PAR + PKCE for any scope: the authorization URL, and the verifier and state the code
 * exchange needs.
 */
export async function authorizationUrlWithPar(tpp: oidc.Configuration, request: AuthorizationRequest) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const parameters: Record<string, string> = {
    redirect_uri: request.redirectUri,
    scope: request.scope,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  };
  if (request.consentId) {
    parameters.claims = JSON.stringify({
      id_token: { openbanking_intent_id: { value: request.consentId, essential: true } },
    });
  }
  if (request.authorizationDetails) parameters.authorization_details = JSON.stringify(request.authorizationDetails);
  const url = await oidc.buildAuthorizationUrlWithPAR(
    tpp,
    parameters,
    request.DPoP ? { DPoP: request.DPoP } : undefined,
  );
  return { url, verifier, state };
}

/**
 * The customer signs in to the user portal (auth-server's login page; the portal is first-party,
 * so no consent page) and revokes one consent after the confirmation step, as the form contract
 * of portal.http.ts describes it. Resolves once the portal has answered the revocation.
 */
export async function revokeInPortal(
  browser: FormBrowser,
  portalUrl: string,
  customer: { username: string; password: string },
  consentId: string,
): Promise<void> {
  const loginPage = await browser.follow(await browser.get(portalUrl));
  const signedIn = await browser.follow(
    await browser.post(
      formAction(loginPage),
      new URLSearchParams({ username: customer.username, password: customer.password }),
    ),
  );
  assert.equal(signedIn.status, 200, `the portal after sign-in: ${signedIn.status} ${signedIn.body.slice(0, 300)}`);
  const revokeUrl = `${portalUrl}/consents/${encodeURIComponent(consentId)}/revoke`;
  const confirm = await browser.follow(await browser.get(revokeUrl));
  const csrfToken = /name="csrf_token" value="([^"]+)"/.exec(confirm.body)?.[1];
  assert.ok(csrfToken, `no revocation form: ${confirm.status} ${confirm.body.slice(0, 300)}`);
  // The confirmation page posts back to its own address (the sign-out form shares the token).
  const revoked = await browser.post(revokeUrl, new URLSearchParams({ csrf_token: csrfToken }));
  assert.equal(revoked.status, 303, `the revocation: ${revoked.status} ${revoked.body.slice(0, 300)}`);
}

function formAction(page: PageResponse): string {
  const action = /<form[^>]*action="([^"]+)"/.exec(page.body)?.[1];
  assert.ok(action, `no form on ${page.url} (status ${page.status}): ${page.body.slice(0, 300)}`);
  return new URL(action.replaceAll('&amp;', '&'), page.url).href;
}
