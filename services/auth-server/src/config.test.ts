import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadSettings, SettingsError } from '@obip/config';
import { settingsShape } from './config';

const load = (env: Record<string, string>) => loadSettings('auth-server', settingsShape, env);

test('reaches consent-service at its default gRPC port and asserts the SCA acr after a password login', () => {
  const settings = load({});
  assert.equal(settings.CONSENTS_GRPC_TARGET, 'dns:///127.0.0.1:50053');
  assert.deepEqual(settings.ACR_BY_AUTHENTICATION_METHOD, { pwd: 'urn:openbanking:psd2:sca' });
});

test('takes ACR_BY_AUTHENTICATION_METHOD as a JSON object of method to acr', () => {
  const settings = load({ ACR_BY_AUTHENTICATION_METHOD: '{"pwd":"urn:example:loa:2","otp":"urn:example:loa:3"}' });
  assert.deepEqual(settings.ACR_BY_AUTHENTICATION_METHOD, { pwd: 'urn:example:loa:2', otp: 'urn:example:loa:3' });
});

test('refuses an ACR_BY_AUTHENTICATION_METHOD that is not JSON or has no acr for the password login', () => {
  for (const value of ['pwd=urn:x', '{"otp":"urn:x"}', '{"pwd":""}', '["pwd"]']) {
    assert.throws(
      () => load({ ACR_BY_AUTHENTICATION_METHOD: value }),
      (error: unknown) =>
        error instanceof SettingsError &&
        error.issues.some((issue) => issue.variable.startsWith('ACR_BY_AUTHENTICATION_METHOD')),
      value,
    );
  }
});

test('live settings default to the platform defaults and refuse algorithms FAPI forbids', () => {
  const settings = load({});
  assert.deepEqual(settings.ACCEPTED_SIGNING_ALGS, ['PS256', 'ES256', 'EdDSA']);
  assert.equal(settings.DPOP_NONCES_REQUIRED, true);
  assert.equal(settings.PAR_REQUIRED_FOR_FAPI1, false);
  assert.equal(settings.RATE_LIMIT_WINDOW_MS, 60_000);
  assert.equal(settings.SIGNING_KEYS_RELOAD_MS, 10_000);
  assert.equal(settings.CONFIG_GRPC_TARGET, undefined);
  assert.deepEqual(load({ ACCEPTED_SIGNING_ALGS: 'ES256, PS256' }).ACCEPTED_SIGNING_ALGS, ['ES256', 'PS256']);
  for (const value of ['RS256', 'PS256,none', ',', 'ES256,ES256']) {
    assert.throws(
      () => load({ ACCEPTED_SIGNING_ALGS: value }),
      (error: unknown) =>
        error instanceof SettingsError &&
        error.issues.some((issue) => issue.variable.startsWith('ACCEPTED_SIGNING_ALGS')),
      value,
    );
  }
});
