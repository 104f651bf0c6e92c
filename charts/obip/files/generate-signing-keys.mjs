// Generates auth-server's first signing keys (PS256 and ES256, RFC 7517 private JWKS) and stores
// them in a Secret, once: an existing Secret is left alone, so the hook is safe to re-run.
// Runs in the pre-install hook Job of charts/obip with the auth-server image (Node 24, no npm
// packages) and talks to the API server with the pod's ServiceAccount token.
/* global process, console, Buffer */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';

const SA = '/var/run/secrets/kubernetes.io/serviceaccount';
const { SECRET_NAME, SECRET_KEY, NAMESPACE, KUBERNETES_SERVICE_HOST, KUBERNETES_SERVICE_PORT } = process.env;

/** RFC 7638 thumbprint of the public members, used as `kid`. */
function thumbprint(jwk) {
  const members =
    jwk.kty === 'RSA' ? { e: jwk.e, kty: jwk.kty, n: jwk.n } : { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

function signingKey(alg) {
  const pair =
    alg === 'PS256'
      ? generateKeyPairSync('rsa', { modulusLength: 3072 })
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = pair.privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: thumbprint(jwk), alg, use: 'sig' };
}

function api(method, path, body) {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: KUBERNETES_SERVICE_HOST,
        port: KUBERNETES_SERVICE_PORT,
        method,
        path,
        ca: readFileSync(`${SA}/ca.crt`),
        headers: {
          authorization: `Bearer ${readFileSync(`${SA}/token`, 'utf8').trim()}`,
          'content-type': 'application/json',
        },
        timeout: 10_000,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const base = `/api/v1/namespaces/${NAMESPACE}/secrets`;
const existing = await api('GET', `${base}/${SECRET_NAME}`);
if (existing === 200) {
  console.log(`secret ${NAMESPACE}/${SECRET_NAME} exists; keeping its keys`);
  process.exit(0);
}
if (existing !== 404) throw new Error(`reading secret ${SECRET_NAME}: HTTP ${existing}`);

const jwks = { keys: [signingKey('PS256'), signingKey('ES256')] };
const created = await api('POST', base, {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: {
    name: SECRET_NAME,
    labels: { 'app.kubernetes.io/part-of': 'obip', 'app.kubernetes.io/component': 'signing-keys' },
  },
  type: 'Opaque',
  data: { [SECRET_KEY]: Buffer.from(JSON.stringify(jwks)).toString('base64') },
});
// 409: another run created it between our read and our write; its keys stand.
if (created !== 201 && created !== 409) throw new Error(`creating secret ${SECRET_NAME}: HTTP ${created}`);
console.log(
  `secret ${NAMESPACE}/${SECRET_NAME}: ${created === 201 ? 'created' : 'already created'} (kids ${jwks.keys.map((k) => k.kid).join(', ')})`,
);
