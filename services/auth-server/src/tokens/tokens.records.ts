import type { AdapterPayload } from 'oidc-provider';
import type { TokenRecord } from '@obip/token-store';
import type { GrantConsentLink } from '../adapter/adapter.mongo';

/** The token models whose tokens token-introspection answers for. */
export type IssuedTokenModel = 'AccessToken' | 'ClientCredentials' | 'RefreshToken';

const asString = (value: unknown): string | undefined =>
  typeof value === 'string' && value.length > 0 ? value : undefined;

/** The engine's short `gty` names → the grant_type values RFC 7662 consumers know. */
const GRANT_TYPE_BY_GTY: Readonly<Record<string, string>> = { ciba: 'urn:openid:params:grant-type:ciba' };
const grantTypeOf = (gty: string) => GRANT_TYPE_BY_GTY[gty] ?? gty;

/**
 * The normalised introspection record (libs/token-store) of a token the engine has just stored:
 * client, subject, scope, consent, sender constraint (RFC 8705 `x5t#S256`, RFC 9449 `jkt`),
 * RFC 9396 authorization details and expiry. Pure: the consent link is looked up by the caller.
 *
 * @example
 * tokenRecordOf('ClientCredentials', payload, { issuer: 'https://as.example' });
 */
export function tokenRecordOf(
  model: IssuedTokenModel,
  payload: AdapterPayload,
  context: { issuer: string; consent?: GrantConsentLink },
): TokenRecord {
  const clientId = asString(payload.clientId);
  if (!clientId) throw new TypeError(`${model} payload without clientId`);
  const issuedAt = Number(payload.iat);
  const expiresAt = Number(payload.exp);
  const aud = payload.aud;
  const audience = Array.isArray(aud) ? aud.filter((entry): entry is string => typeof entry === 'string') : [];
  if (typeof aud === 'string') audience.push(aud);
  const thumbprint = asString(payload['x5t#S256']);
  const jkt = asString(payload.jkt);
  const grantId = asString(payload.grantId);
  const subject = asString(payload.accountId);
  const acr = asString(payload.acr);

  return {
    v: 1,
    tokenType: model === 'RefreshToken' ? 'refresh_token' : 'access_token',
    // The engine appends grants as they chain (`authorization_code refresh_token`); the last issued this one.
    grantType:
      model === 'ClientCredentials'
        ? 'client_credentials'
        : grantTypeOf(asString(payload.gty)?.split(' ').at(-1) ?? 'authorization_code'),
    clientId,
    ...(subject ? { subject } : {}),
    scope: typeof payload.scope === 'string' ? payload.scope : '',
    issuer: context.issuer,
    audience,
    issuedAt,
    expiresAt,
    ...(grantId ? { grantId } : {}),
    ...(context.consent ? { consentId: context.consent.consentId } : {}),
    ...(context.consent?.openbankingIntentId ? { openbankingIntentId: context.consent.openbankingIntentId } : {}),
    ...(context.consent?.identityRelease ? { identityRelease: context.consent.identityRelease } : {}),
    ...(thumbprint || jkt
      ? { cnf: { ...(thumbprint ? { 'x5t#S256': thumbprint } : {}), ...(jkt ? { jkt } : {}) } }
      : {}),
    ...(Array.isArray(payload.rar) ? { authorizationDetails: payload.rar as unknown[] } : {}),
    ...(acr ? { acr } : {}),
  };
}
