/**
 * The portal's rules, as pure functions: what a customer may see and revoke, the request checks
 * that guard its forms, and how the consent record reads to a customer.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Consent } from '../consents/consents.model';
import { TRANSITIONS } from '../consents/consents.rules';

/** A customer sees only the consents they authorised or refused (issue 5: "own consents"). */
export function isOwnedBy(consent: Pick<Consent, 'subject'>, subject: string): boolean {
  return consent.subject !== undefined && consent.subject === subject;
}

/**
 * Whether the customer may revoke the consent: an Authorised consent of a kind that is revoked
 * rather than consumed (OBIE account-access and generic; a payment consent is spent, not revoked).
 */
export function isRevocable(consent: Pick<Consent, 'status' | 'kind'>): boolean {
  return (
    TRANSITIONS.revoke.from.includes(consent.status) && (TRANSITIONS.revoke.kinds as string[]).includes(consent.kind)
  );
}

/**
 * OWASP CSRF Prevention, defence in depth beside the synchronizer token: a browser's form post
 * names its origin (Fetch: `Origin` on every POST); one that names another origin, or `null`
 * (an opaque origin, e.g. a sandboxed frame), is refused. A request without the header comes
 * from no browser and still needs the token.
 */
export function isAllowedOrigin(origin: string | undefined, portalOrigin: string): boolean {
  return origin === undefined || origin === portalOrigin;
}

/** The synchronizer token as sent equals the session's, compared in constant time. */
export function isCsrfTokenValid(sent: unknown, expected: string): boolean {
  if (typeof sent !== 'string' || sent.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(sent), Buffer.from(expected));
}

/**
 * A TPP's `logo_uri` the page may show: an absolute https URL of reasonable length, without
 * credentials. The browser fetches it (the CSP names its origin); the portal never does.
 */
export function displayableLogoUri(uri: string | undefined): URL | undefined {
  if (!uri || uri.length > 2_048) return undefined;
  try {
    const url = new URL(uri);
    return url.protocol === 'https:' && url.username === '' && url.password === '' ? url : undefined;
  } catch {
    return undefined;
  }
}

/** Who made a change in a consent's history, as the customer reads it. */
export function actorLabel(actor: string, subject: string, tppName: string): string {
  if (actor === `customer:${subject}`) return 'You';
  if (actor === 'auth-server') return 'You, on your bank’s sign-in page';
  if (actor.startsWith('client:')) return tppName;
  if (actor === 'system:expiry') return 'Expired automatically';
  if (actor.startsWith('customer:')) return 'Another customer';
  return 'Your bank';
}

/** An OBIE permission code in words: `ReadAccountsDetail` → `Read accounts detail`. */
export function permissionLabel(code: string): string {
  const words = code.replace(/([a-z])([A-Z])/g, '$1 $2').split(' ');
  return words.map((word, index) => (index === 0 ? word : word.toLowerCase())).join(' ');
}

/** Verified identity claims (OpenID Connect Core 5.1, OIDC4IDA claims) in words. */
const IDENTITY_CLAIM_LABELS: Readonly<Record<string, string>> = {
  given_name: 'given name',
  family_name: 'family name',
  middle_name: 'middle name',
  birthdate: 'date of birth',
  place_of_birth: 'place of birth',
  nationalities: 'nationalities',
  address: 'address',
  birth_family_name: 'family name at birth',
  birth_given_name: 'given name at birth',
  salutation: 'salutation',
  title: 'title',
};

/** A released identity claim as the customer reads it: `birthdate` → `date of birth`. */
export function identityClaimLabel(name: string): string {
  return IDENTITY_CLAIM_LABELS[name] ?? name.replaceAll('_', ' ');
}

/** What kind of access the consent gives, in words. */
export function kindLabel(kind: Consent['kind']): string {
  switch (kind) {
    case 'account-access':
      return 'Account information';
    case 'domestic-payment':
      return 'Payment';
    case 'generic':
      return 'Access to your accounts';
  }
}

/** auth-server's answer for a password login (its acrByAuthenticationMethod for `pwd`). */
export const PASSWORD_SIGN_IN = { acr: 'urn:openbanking:psd2:sca', amr: ['pwd'] } as const;

/**
 * How the customer authenticated, as the portal vouches for it when deciding a decoupled request
 * (consents.v1 DecideAuthentication: acr required on approval): the session's own `acr`/`amr`
 * from the sign-in's ID token when auth-server gave them; otherwise what portal sign-in always
 * is — a password login at auth-server (`prompt=login`), which auth-server maps to the Open
 * Banking SCA acr — so `urn:openbanking:psd2:sca` with `pwd`.
 */
export function deviceAuthenticationOf(session: { acr?: string; amr?: string[] }): { acr: string; amr: string[] } {
  return {
    acr: session.acr || PASSWORD_SIGN_IN.acr,
    amr: session.amr && session.amr.length > 0 ? [...session.amr] : [...PASSWORD_SIGN_IN.amr],
  };
}

/** An OAuth scope in words, for the customer; an unknown scope is shown as it is. */
export function scopeLabel(scope: string): string {
  switch (scope) {
    case 'openid':
      return 'Confirm who you are';
    case 'accounts':
      return 'See your account information';
    case 'payments':
      return 'Make payments from your account';
    case 'fundsconfirmations':
      return 'Check you have enough money for a payment';
    default:
      return scope;
  }
}
