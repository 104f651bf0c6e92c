// The engine alone for DCR (issue 11 scenario 5): a bare node-oidc-provider 9 with RFC 7591
// dynamic registration (`features.registration`, no initial access token) on its own Koa
// callback on node:http, storing what it registers in MongoDB through a minimal adapter (one
// document per model instance, inserted through @obip/mongo's connection): each registration
// writes its Client and its RegistrationAccessToken. The engine cannot verify an OBIE software
// statement or a signed registration request: it is sent the same metadata as plain JSON, with
// the TPP's public key inline and the SSA kept as unverified extra metadata.
// Env: MONGO_URL (naming the database). Prints {"ready":{"port":N}}.
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { type Adapter, type AdapterPayload } from 'oidc-provider';
import { closeMongo, connectMongo, isDuplicateKeyError } from '@obip/mongo';
import { jwkThumbprint } from '@obip/testing';
import { ISSUER, MTLS_BASE_URL } from '../auth-server/fixtures';

const mongo = await connectMongo({ url: process.env.MONGO_URL!, serverSelectionTimeoutMS: 5_000 });

interface StoredModel {
  _id: string;
  payload: AdapterPayload;
  expiresAt?: Date;
}

/** One collection per model (`Client`, `RegistrationAccessToken`…), one document per instance. */
function mongoAdapter(model: string): Adapter {
  const collection = mongo.db!.collection<StoredModel>(model);
  const findBy = async (filter: Record<string, unknown>) => {
    const found = await collection.findOne(filter);
    return found && (!found.expiresAt || found.expiresAt > new Date()) ? found.payload : undefined;
  };
  return {
    async upsert(id, payload, expiresIn) {
      const document = {
        _id: id,
        payload,
        ...(expiresIn ? { expiresAt: new Date(Date.now() + expiresIn * 1000) } : {}),
      };
      // A registration saves new instances only: an insert, and a replace only when the id exists
      // (a FerretDB upsert costs it several times an insert).
      try {
        await collection.insertOne(document);
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
        await collection.replaceOne({ _id: id }, document);
      }
    },
    find: (id) => findBy({ _id: id }),
    findByUid: (uid) => findBy({ 'payload.uid': uid }),
    findByUserCode: (userCode) => findBy({ 'payload.userCode': userCode }),
    async consume(id) {
      await collection.updateOne({ _id: id }, { $set: { 'payload.consumed': Math.floor(Date.now() / 1000) } });
    },
    async destroy(id) {
      await collection.deleteOne({ _id: id });
    },
    async revokeByGrantId(grantId) {
      await collection.deleteMany({ 'payload.grantId': grantId });
    },
  };
}

const signingKeys = [
  { ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }), alg: 'PS256' },
].map((key) => ({ ...key, use: 'sig', kid: jwkThumbprint(key) }));
const FAPI_ALGS = ['PS256', 'ES256'];

const provider = new Provider(ISSUER, {
  // oidc-provider constructs the adapter with `new`: an object returned from a function constructor is the instance.
  adapter: function EngineMongoAdapter(model: string) {
    return mongoAdapter(model);
  },
  jwks: { keys: signingKeys },
  clientAuthMethods: ['private_key_jwt'],
  cookies: { keys: ['bench-cookie-key-not-a-secret-0123456789'] },
  enabledJWA: {
    clientAuthSigningAlgValues: FAPI_ALGS,
    idTokenSigningAlgValues: FAPI_ALGS,
    requestObjectSigningAlgValues: FAPI_ALGS,
  },
  extraClientMetadata: { properties: ['software_id', 'software_statement'] },
  features: {
    clientCredentials: { enabled: true },
    devInteractions: { enabled: false },
    registration: { enabled: true },
    requestObjects: { enabled: true },
  },
  responseTypes: ['code id_token', 'code'],
  routes: { registration: '/register' },
  scopes: ['openid', 'offline_access', 'accounts', 'payments', 'fundsconfirmations'],
});
provider.proxy = true;
provider.on('server_error', (_ctx: never, error: never) =>
  process.stderr.write(`engine server_error: ${String(error)}\n`),
);

const callback = provider.callback();
const mtlsHost = new URL(MTLS_BASE_URL).host;
const server = createServer((req, res) => {
  // As the edge routes /register: through the mTLS host, over https.
  req.headers['x-forwarded-proto'] = 'https';
  req.headers['x-forwarded-host'] = mtlsHost;
  callback(req, res);
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ ready: { port: (server.address() as AddressInfo).port } })}\n`);
});
process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close();
  void closeMongo(mongo);
});
