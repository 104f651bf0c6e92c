// The floor (issue 6, baseline a): what introspection costs at the least on this machine. Bare
// node:http, the form body parsed, the same Redis GET of the same key (`<prefix>tok:<sha256>`,
// libs/token-store's tokenKeyId) through the same client library and settings, the record
// parsed and answered with the same JSON members. No caller authentication, no consent check,
// no metrics, no logs. Env: REDIS_URL, REDIS_KEY_PREFIX. Prints {"ready":{"port":N}}.
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRedis } from '@obip/redis';
import { parseTokenRecord, tokenKeyId, type TokenRecord } from '@obip/token-store';

const redis = createRedis({ url: process.env.REDIS_URL!, keyPrefix: process.env.REDIS_KEY_PREFIX ?? 'obip:' });
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

function reply(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  res.end(body);
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const token = new URLSearchParams(Buffer.concat(chunks).toString('utf8')).get('token');
    if (!token) return reply(res, 400, '{"error":"invalid_request"}');
    redis.get(`tok:${tokenKeyId(token)}`).then(
      (text) => {
        const record = parseTokenRecord(text);
        reply(res, 200, record && record.expiresAt > Date.now() / 1000 ? activeBody(record) : INACTIVE);
      },
      () => reply(res, 503, '{"error":"temporarily_unavailable"}'),
    );
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ ready: { port: (server.address() as AddressInfo).port } })}\n`);
});
process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close();
  redis.disconnect();
});
