/**
 * OpenID Connect for Identity Assurance 1.0: checking a TPP's `verified_claims` request (inside
 * the `claims` parameter) and choosing, from what the bank verified, exactly what answers it.
 *
 * Only what was requested, what matches the requested trust framework and filters, and what the
 * bank holds is returned; nothing is invented. A verification's `trust_framework` is always
 * returned with it; its other members only when the request names them.
 */

/** One verified_claims object as the bank holds it (consents.v1 GetVerifiedIdentity). */
export interface VerifiedClaims {
  verification: {
    trust_framework: string;
    assurance_level?: string;
    time?: string;
    verification_process?: string;
    evidence?: Array<Record<string, unknown> & { type?: string }>;
  };
  claims: Record<string, unknown>;
}

/** What the customer agreed to release: claim names per trust framework, never values. */
export interface IdentityRelease {
  trustFramework: string;
  claims: string[];
}

/** A TPP's `verified_claims` request that the spec does not allow; the client gets invalid_request. */
export class VerifiedClaimsRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VerifiedClaimsRequestError';
  }
}

/** Most verified_claims requests one claims container may hold. */
const MAX_REQUESTS = 5;
const VERIFICATION_MEMBERS = new Set([
  'trust_framework',
  'assurance_level',
  'time',
  'verification_process',
  'evidence',
]);
const CONSTRAINT_MEMBERS = new Set(['essential', 'purpose', 'value', 'values', 'max_age']);

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const fail = (message: string): never => {
  throw new VerifiedClaimsRequestError(message);
};

/** `null` or `{essential, purpose, value, values, max_age}` (only where the member allows it). */
function checkConstraint(value: unknown, at: string, allowMaxAge = false): void {
  if (value === null) return;
  if (!isObject(value)) fail(`${at} must be null or an object`);
  const constraint = value as Record<string, unknown>;
  for (const key of Object.keys(constraint)) {
    if (!CONSTRAINT_MEMBERS.has(key) || (key === 'max_age' && !allowMaxAge)) fail(`${at}.${key} is not allowed`);
  }
  if (constraint.essential !== undefined && typeof constraint.essential !== 'boolean') {
    fail(`${at}.essential must be a boolean`);
  }
  const purpose = constraint.purpose;
  if (purpose !== undefined && (typeof purpose !== 'string' || purpose.length < 3 || purpose.length > 300)) {
    fail(`${at}.purpose must be a string of 3 to 300 characters`);
  }
  if (constraint.value !== undefined && typeof constraint.value !== 'string') fail(`${at}.value must be a string`);
  const values = constraint.values;
  if (
    values !== undefined &&
    (!Array.isArray(values) || values.length === 0 || values.some((v) => typeof v !== 'string'))
  ) {
    fail(`${at}.values must be a non-empty array of strings`);
  }
  const maxAge = constraint.max_age;
  if (maxAge !== undefined && (!Number.isSafeInteger(maxAge) || (maxAge as number) < 0)) {
    fail(`${at}.max_age must be a non-negative integer (seconds)`);
  }
}

function checkRequest(entry: unknown, at: string): void {
  if (!isObject(entry)) fail(`${at} must be an object`);
  const request = entry as Record<string, unknown>;
  for (const key of Object.keys(request)) {
    if (key !== 'verification' && key !== 'claims') fail(`${at}.${key} is not allowed`);
  }
  const verification = request.verification;
  if (!isObject(verification)) return fail(`${at}.verification is required and must be an object`);
  if (!('trust_framework' in verification)) fail(`${at}.verification.trust_framework is required`);
  for (const [key, value] of Object.entries(verification)) {
    if (!VERIFICATION_MEMBERS.has(key)) fail(`${at}.verification.${key} is not allowed`);
    if (key === 'evidence') {
      if (!Array.isArray(value) || value.length === 0) fail(`${at}.verification.evidence must be a non-empty array`);
      (value as unknown[]).forEach((evidence, index) => {
        if (!isObject(evidence)) fail(`${at}.verification.evidence[${index}] must be an object`);
        if ((evidence as Record<string, unknown>).type !== undefined) {
          checkConstraint((evidence as Record<string, unknown>).type, `${at}.verification.evidence[${index}].type`);
        }
      });
    } else {
      checkConstraint(value, `${at}.verification.${key}`, key === 'time');
    }
  }
  const claims = request.claims;
  if (!isObject(claims) || Object.keys(claims).length === 0) {
    fail(`${at}.claims is required and must name at least one claim`);
  }
  for (const [name, value] of Object.entries(claims as Record<string, unknown>)) {
    // Structured claims (address, place_of_birth) may constrain their members one by one.
    if (isObject(value) && Object.keys(value).some((key) => !CONSTRAINT_MEMBERS.has(key))) {
      for (const [member, inner] of Object.entries(value)) checkConstraint(inner, `${at}.claims.${name}.${member}`);
    } else {
      checkConstraint(value, `${at}.claims.${name}`);
    }
  }
}

/**
 * Checks the `verified_claims` member of one claims container (`id_token` or `userinfo`):
 * an object or a non-empty array of objects, each with `verification` (with `trust_framework`)
 * and a non-empty `claims`, every constraint well-formed. Throws VerifiedClaimsRequestError.
 */
export function checkVerifiedClaimsRequest(value: unknown, container: string): void {
  const at = `claims.${container}.verified_claims`;
  if (Array.isArray(value)) {
    if (value.length === 0 || value.length > MAX_REQUESTS) fail(`${at} must hold 1 to ${MAX_REQUESTS} requests`);
    value.forEach((entry, index) => checkRequest(entry, `${at}[${index}]`));
  } else {
    checkRequest(value, at);
  }
}

const requestsOf = (
  value: unknown,
): Array<{ verification: Record<string, unknown>; claims: Record<string, unknown> }> =>
  (Array.isArray(value) ? value : value === undefined ? [] : [value]) as Array<{
    verification: Record<string, unknown>;
    claims: Record<string, unknown>;
  }>;

/** Whether a held string satisfies a `{value}` / `{values}` constraint (null: anything). */
function matches(constraint: unknown, held: unknown): boolean {
  if (!isObject(constraint)) return true;
  if (typeof constraint.value === 'string') return held === constraint.value;
  if (Array.isArray(constraint.values)) return typeof held === 'string' && constraint.values.includes(held);
  return true;
}

function selectOne(
  request: { verification: Record<string, unknown>; claims: Record<string, unknown> },
  held: VerifiedClaims,
  nowSeconds: number,
): VerifiedClaims | undefined {
  const wanted = request.verification;
  const have = held.verification;
  if (!matches(wanted.trust_framework, have.trust_framework)) return undefined;
  if ('assurance_level' in wanted && !matches(wanted.assurance_level, have.assurance_level)) return undefined;
  if ('verification_process' in wanted && !matches(wanted.verification_process, have.verification_process)) {
    return undefined;
  }
  const maxAge = isObject(wanted.time) ? wanted.time.max_age : undefined;
  if (typeof maxAge === 'number') {
    const verifiedAt = have.time === undefined ? Number.NaN : Date.parse(have.time) / 1000;
    if (!(nowSeconds - verifiedAt <= maxAge)) return undefined;
  }
  let evidence = have.evidence;
  if (Array.isArray(wanted.evidence)) {
    const types = wanted.evidence.map((entry) => (entry as Record<string, unknown>).type);
    evidence = (have.evidence ?? []).filter((item) => types.some((type) => matches(type, item.type)));
    if (evidence.length === 0) return undefined;
  }

  const claims: Record<string, unknown> = {};
  for (const [name, constraint] of Object.entries(request.claims)) {
    const value = held.claims[name];
    if (value === undefined) continue;
    if (typeof value === 'string' && !matches(constraint, value)) continue;
    claims[name] = value;
  }
  if (Object.keys(claims).length === 0) return undefined;

  const verification: VerifiedClaims['verification'] = { trust_framework: have.trust_framework };
  if ('assurance_level' in wanted && have.assurance_level !== undefined) {
    verification.assurance_level = have.assurance_level;
  }
  if ('time' in wanted && have.time !== undefined) verification.time = have.time;
  if ('verification_process' in wanted && have.verification_process !== undefined) {
    verification.verification_process = have.verification_process;
  }
  if ('evidence' in wanted && evidence !== undefined) verification.evidence = evidence;
  return { verification, claims };
}

/**
 * The verified_claims that answer a request from what the bank holds (an already checked
 * request; see checkVerifiedClaimsRequest). Empty when nothing matches.
 */
export function selectVerifiedClaims(
  requested: unknown,
  held: readonly VerifiedClaims[],
  nowSeconds = Math.floor(Date.now() / 1000),
): VerifiedClaims[] {
  return offerVerifiedClaims(requested, held, nowSeconds).map(({ answer }) => answer);
}

/** Each answer with the verification it comes from, so the consent page can say which one. */
export function offerVerifiedClaims(
  requested: unknown,
  held: readonly VerifiedClaims[],
  nowSeconds = Math.floor(Date.now() / 1000),
): Array<{ answer: VerifiedClaims; source: VerifiedClaims }> {
  const offered: Array<{ answer: VerifiedClaims; source: VerifiedClaims }> = [];
  for (const request of requestsOf(requested)) {
    for (const record of held) {
      const answer = selectOne(request, record, nowSeconds);
      if (answer) offered.push({ answer, source: record });
    }
  }
  return offered;
}

/** The `verified_claims` value of an ID token or userinfo response: one object, or an array of several. */
export function verifiedClaimsValue(
  selected: readonly VerifiedClaims[],
): VerifiedClaims | VerifiedClaims[] | undefined {
  if (selected.length === 0) return undefined;
  return selected.length === 1 ? selected[0] : [...selected];
}

/** Claim names per trust framework (for the consent page, the consent record and the token record). */
export function identityReleaseOf(selected: readonly VerifiedClaims[]): IdentityRelease[] {
  const byFramework = new Map<string, Set<string>>();
  for (const { verification, claims } of selected) {
    const names = byFramework.get(verification.trust_framework) ?? new Set<string>();
    for (const name of Object.keys(claims)) names.add(name);
    byFramework.set(verification.trust_framework, names);
  }
  return [...byFramework].map(([trustFramework, names]) => ({ trustFramework, claims: [...names] }));
}

/** The verified_claims requests of a claims parameter, from both containers. */
export function requestedVerifiedClaims(claimsParameter: unknown): unknown[] {
  let claims: unknown = claimsParameter;
  if (typeof claimsParameter === 'string') {
    try {
      claims = JSON.parse(claimsParameter);
    } catch {
      return [];
    }
  }
  if (!isObject(claims)) return [];
  return ['id_token', 'userinfo'].flatMap((container) => {
    const value = (claims as Record<string, Record<string, unknown> | undefined>)[container]?.verified_claims;
    return value === undefined ? [] : requestsOf(value);
  });
}

const CLAIM_WORDS: Readonly<Record<string, string>> = {
  given_name: 'given name',
  family_name: 'family name',
  birthdate: 'date of birth',
  place_of_birth: 'place of birth',
  nationalities: 'nationality',
  address: 'address',
};

const DOCUMENT_WORDS: Readonly<Record<string, string>> = {
  passport: 'your passport',
  driving_permit: 'your driving licence',
  idcard: 'your identity card',
};

/**
 * What the consent page says of one answer and the verification it comes from: "given name,
 * family name, date of birth — checked under uk_tfida on 2025-06-03 from your passport".
 */
export function describeOffer(answer: VerifiedClaims, source: VerifiedClaims): string {
  const { trust_framework: framework, time, evidence } = source.verification;
  const when = time && !Number.isNaN(Date.parse(time)) ? ` on ${new Date(time).toISOString().slice(0, 10)}` : '';
  const sources = (evidence ?? []).map((item) => {
    const document = (item.document_details as { type?: unknown } | undefined)?.type;
    if (item.type === 'document')
      return (typeof document === 'string' && DOCUMENT_WORDS[document]) || 'an identity document';
    return item.type === 'electronic_record' ? 'an electronic record' : 'other evidence';
  });
  const from = sources.length > 0 ? ` from ${[...new Set(sources)].join(' and ')}` : '';
  const names = Object.keys(answer.claims).map((name) => CLAIM_WORDS[name] ?? name);
  return `${names.join(', ')} — checked under ${framework}${when}${from}`;
}
