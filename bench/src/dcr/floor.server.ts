// The floor of DCR registration (issue 11 scenario 5): what an OBIE registration costs at the
// least on this machine. Bare node:http: the body read as a compact JWS, the software statement
// inside it verified with jose against the directory's key set (signature, alg, iss, iat within
// the acceptance window, jti present), the request verified against the key set the SSA's
// `software_jwks_endpoint` names (fetched once and kept, as dcr-service's cache does; iss =
// software_id, aud = the bank, exp, iat, jti present), the certificate thumbprint taken from the
// edge's header (no X.509 parsing or chain), and one MongoDB insert of the client through
// @obip/mongo, answered 201 with the client id and the metadata. No replay detection, rate limit,
// metadata rules, audit entry, metrics or logs.
// Env: MONGO_URL (naming the database), DIRECTORY_ISSUER, DIRECTORY_JWKS_URI, AUDIENCE.
// Prints {"ready":{"port":N}}.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { closeMongo, connectMongo } from '@obip/mongo';
import { forwardedThumbprint, serveFloor, type FloorAnswer } from '../harness/floor';

const env = process.env;
const ALGORITHMS = ['PS256', 'ES256'];
const SSA_MAX_AGE_SECONDS = 1_800;
const CLOCK_TOLERANCE_SECONDS = 30;
/** Request claims about the request itself, not the client. */
const ENVELOPE = new Set(['iss', 'aud', 'iat', 'exp', 'nbf', 'jti', 'software_statement']);

const mongo = await connectMongo({ url: env.MONGO_URL!, serverSelectionTimeoutMS: 5_000 });
const clients = mongo.db!.collection('clients');
const issuer = env.DIRECTORY_ISSUER!;
const audience = env.AUDIENCE!;
const directoryKeys = createRemoteJWKSet(new URL(env.DIRECTORY_JWKS_URI!));
/** Software key sets by URL, fetched on first use and kept (jose refetches on an unknown kid). */
const softwareKeys = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

class Refused extends Error {
  constructor(readonly error: string) {
    super(error);
  }
}

async function verified<T>(verify: () => Promise<T>, error: string): Promise<T> {
  try {
    return await verify();
  } catch {
    throw new Refused(error);
  }
}

async function register(req: IncomingMessage, jws: string): Promise<FloorAnswer> {
  const thumbprint = forwardedThumbprint(req);
  if (!thumbprint) throw new Refused('invalid_client');
  const unverified = await verified(async () => decodeJwt(jws), 'invalid_client_metadata');
  if (typeof unverified.software_statement !== 'string') throw new Refused('invalid_software_statement');
  const { payload: ssa } = await verified(
    () =>
      jwtVerify(unverified.software_statement as string, directoryKeys, {
        algorithms: ALGORITHMS,
        issuer,
        maxTokenAge: SSA_MAX_AGE_SECONDS,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['iat', 'jti'],
      }),
    'invalid_software_statement',
  );
  const softwareId = ssa.software_id;
  const jwksUri = ssa.software_jwks_endpoint;
  if (typeof softwareId !== 'string' || typeof jwksUri !== 'string') throw new Refused('invalid_software_statement');
  let keys = softwareKeys.get(jwksUri);
  if (!keys) softwareKeys.set(jwksUri, (keys = createRemoteJWKSet(new URL(jwksUri))));
  const { payload: claims } = await verified(
    () =>
      jwtVerify(jws, keys, {
        algorithms: ALGORITHMS,
        issuer: softwareId,
        audience,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['exp', 'iat', 'jti'],
      }),
    'invalid_client_metadata',
  );
  if (claims.software_id !== undefined && claims.software_id !== softwareId)
    throw new Refused('invalid_client_metadata');

  const metadata = Object.fromEntries(Object.entries(claims).filter(([name]) => !ENVELOPE.has(name)));
  const clientId = randomBytes(24).toString('base64url');
  const createdAt = new Date();
  await clients.insertOne({
    _id: clientId as never,
    softwareId,
    orgId: ssa.org_id,
    metadata,
    softwareStatement: unverified.software_statement,
    certificate: { thumbprintS256: thumbprint },
    createdAt,
  });
  return [
    201,
    JSON.stringify({
      client_id: clientId,
      client_id_issued_at: Math.floor(createdAt.getTime() / 1000),
      ...metadata,
      software_statement: unverified.software_statement,
    }),
  ];
}

serveFloor({
  async answer(req, body) {
    if (req.method !== 'POST' || req.url !== '/register') return [404, '{"error":"not_found"}'];
    return register(req, body);
  },
  failed: (error) =>
    error instanceof Refused
      ? [400, JSON.stringify({ error: error.error })]
      : [503, '{"error":"temporarily_unavailable"}'],
  close: () => closeMongo(mongo),
});
