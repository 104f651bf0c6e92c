// The floor (issue 6, baseline a): what introspection costs at the least on this machine. Bare
// node:http, the form body parsed, the same Redis GET of the same key (`<prefix>tok:<sha256>`,
// libs/token-store's tokenKeyId) through the same client library and settings, the record
// parsed and answered with the same JSON members. No caller authentication, no consent check,
// no metrics, no logs. Env: REDIS_URL, REDIS_KEY_PREFIX. Prints {"ready":{"port":N}}.
import { createRedis } from '@obip/redis';
import { parseTokenRecord, tokenKeyId, type TokenRecord } from '@obip/token-store';
import { serveFloor, type FloorAnswer } from '../harness/floor';

// The client settings token-introspection uses (its main.ts): no auto-pipelining.
const redis = createRedis({
  url: process.env.REDIS_URL!,
  keyPrefix: process.env.REDIS_KEY_PREFIX ?? 'obip:',
  autoPipelining: false,
});
const INACTIVE = '{"active":false}';

/** The same members, in the same order, as token-introspection's active answer. */
function activeBody(record: TokenRecord): string {
  const body: Record<string, unknown> = { active: true };
  if (record.scope !== '') body.scope = record.scope;
  body.client_id = record.clientId;
  if (record.subject !== undefined) body.sub = record.subject;
  body.exp = record.expiresAt;
  body.iat = record.issuedAt;
  body.iss = record.issuer;
  if (record.audience.length > 0) body.aud = record.audience;
  body.token_type = record.cnf?.jkt ? 'DPoP' : 'Bearer';
  if (record.cnf) body.cnf = record.cnf;
  if (record.consentId !== undefined) body.consent_id = record.consentId;
  if (record.openbankingIntentId !== undefined) body.openbanking_intent_id = record.openbankingIntentId;
  if (record.authorizationDetails !== undefined) body.authorization_details = record.authorizationDetails;
  if (record.acr !== undefined) body.acr = record.acr;
  return JSON.stringify(body);
}

async function introspect(form: URLSearchParams): Promise<FloorAnswer> {
  const token = form.get('token');
  if (!token) return [400, '{"error":"invalid_request"}'];
  const record = parseTokenRecord(await redis.get(`tok:${tokenKeyId(token)}`));
  return [200, record && record.expiresAt > Date.now() / 1000 ? activeBody(record) : INACTIVE];
}

serveFloor({
  answer: (_req, body) => introspect(new URLSearchParams(body)),
  close: () => redis.disconnect(),
});
