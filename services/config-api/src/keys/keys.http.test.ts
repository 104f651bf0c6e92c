import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { importJWK, jwtVerify, SignJWT, type JWK } from 'jose';
import { startConfigApiHarness, type ConfigApiHarness } from '../testing/config-api.harness';

// A clock the test moves, so activation and retirement fall due without waiting.
let clock = Date.parse('2026-11-22T10:00:00Z');
const now = () => new Date(clock);
const HOUR = 3_600_000;

let harness: ConfigApiHarness;
before(async () => {
  harness = await startConfigApiHarness({
    name: 'config-keys',
    now,
    env: { KEY_ACTIVATION_DELAY_SECONDS: '3600', KEY_RETIREMENT_DELAY_SECONDS: '7200' },
  });
});
after(() => harness.stop());

interface KeyView {
  kid: string;
  alg: string;
  status: string;
  retiresAt: string | null;
  publicJwk: JWK;
}

async function listKeys(): Promise<KeyView[]> {
  return ((await (await harness.call('/v1/keys')).json()) as { keys: KeyView[] }).keys;
}

/** The private JWKS as auth-server would mount it now. */
async function mounted(): Promise<JWK[]> {
  return (JSON.parse(await harness.components.keys.privateJwksJson()) as { keys: JWK[] }).keys;
}

describe('/v1/keys', () => {
  it('starts with an active PS256 and ES256 key, shows public members only, and publishes private ones sealed at rest', async () => {
    const keys = await listKeys();
    assert.deepEqual(keys.map((key) => [key.alg, key.status]).sort(), [
      ['ES256', 'active'],
      ['PS256', 'active'],
    ]);
    for (const key of keys) assert.equal(key.publicJwk.d, undefined);
    const published = JSON.parse(harness.published.signingKeys.at(-1)!) as { keys: JWK[] };
    assert.ok(published.keys.every((key) => typeof key.d === 'string'));

    const stored = await harness.mongo.collection('signing_keys').find({}).toArray();
    const raw = JSON.stringify(stored);
    for (const key of published.keys) assert.ok(!raw.includes(String(key.d)), 'no private member stored in clear');

    // The published private key signs what the listed public key verifies.
    const ps256 = published.keys.find((key) => key.alg === 'PS256')!;
    const jws = await new SignJWT({ a: 1 }).setProtectedHeader({ alg: 'PS256' }).sign(await importJWK(ps256, 'PS256'));
    const listedPublic = keys.find((key) => key.kid === ps256.kid)!.publicJwk;
    await jwtVerify(jws, await importJWK(listedPublic, 'PS256'));
  });

  it('rotates in two steps: the new key is published first, signs after the delay, the old one retires later', async () => {
    const before = await listKeys();
    const oldPs256 = before.find((key) => key.alg === 'PS256')!;
    const response = await harness.call('/v1/keys/rotate', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ algorithms: ['PS256'] }),
    });
    assert.equal(response.status, 201);
    const [created] = ((await response.json()) as { keys: KeyView[] }).keys;
    assert.equal(created!.status, 'pending');

    // Published at once, but the old key still signs: it comes first in the mounted set.
    let set = (await mounted()).filter((key) => key.alg === 'PS256').map((key) => key.kid);
    assert.deepEqual(set, [oldPs256.kid, created!.kid]);

    // A second rotation while one is pending is refused.
    const again = await harness.call('/v1/keys/rotate', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ algorithms: ['PS256'] }),
    });
    assert.equal(again.status, 409);

    clock += HOUR + 1_000;
    const activated = await listKeys();
    assert.equal(activated.find((key) => key.kid === created!.kid)!.status, 'active');
    assert.equal(activated.find((key) => key.kid === oldPs256.kid)!.status, 'retiring');
    set = (await mounted()).filter((key) => key.alg === 'PS256').map((key) => key.kid);
    assert.deepEqual(set, [created!.kid, oldPs256.kid]);

    clock += 2 * HOUR + 1_000;
    const retired = await listKeys();
    assert.equal(retired.find((key) => key.kid === oldPs256.kid)!.status, 'retired');
    set = (await mounted()).filter((key) => key.alg === 'PS256').map((key) => key.kid);
    assert.deepEqual(set, [created!.kid]);
  });

  it('refuses to retire the active key, retires another at once, and audits rotations and retirements', async () => {
    const keys = await listKeys();
    const activeEs256 = keys.find((key) => key.alg === 'ES256' && key.status === 'active')!;
    const refused = await harness.call(`/v1/keys/${activeEs256.kid}/retire`, { method: 'POST' });
    assert.equal(refused.status, 409);

    const rotated = await harness.call('/v1/keys/rotate', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ algorithms: ['ES256'], activateAfterSeconds: 0 }),
    });
    assert.equal(rotated.status, 201);
    clock += 1_000;
    const retire = await harness.call(`/v1/keys/${activeEs256.kid}/retire`, { method: 'POST' });
    assert.equal(retire.status, 200);
    assert.equal(((await retire.json()) as KeyView).status, 'retired');
    assert.ok(!(await mounted()).some((key) => key.kid === activeEs256.kid));
    assert.equal((await harness.call('/v1/keys/unknown-kid/retire', { method: 'POST' })).status, 404);

    const audit = (await (await harness.call('/v1/audit?resource=key')).json()) as {
      entries: Array<{ action: string; changes: unknown }>;
    };
    assert.deepEqual(
      audit.entries.slice(0, 2).map((entry) => entry.action),
      ['key.retire', 'key.rotate'],
    );
    assert.ok(!JSON.stringify(audit.entries).includes('"d"'), 'no private member in the audit trail');
  });

  it('needs obip:keys:rotate to rotate or retire', async () => {
    const response = await harness.call('/v1/keys/rotate', { method: 'POST', scopes: ['obip:config:write'] });
    assert.equal(response.status, 403);
  });
});
