import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { status, type ServiceError } from '@grpc/grpc-js';
import { DomainError } from '@obip/errors';
import { freePort } from '@obip/testing';
import { startHarness, startPeers, ISSUER, type Harness, type Peers } from '../testing/introspection.harness';

const EMPTY = {
  active: false,
  scope: '',
  clientId: '',
  sub: '',
  exp: 0,
  iat: 0,
  iss: '',
  aud: [],
  tokenType: '',
  cnfX5tS256: '',
  cnfJkt: '',
  consentId: '',
  openbankingIntentId: '',
  authorizationDetailsJson: '',
  acr: '',
};

function grpcCodeOf(error: unknown): number | undefined {
  return ((error as DomainError).cause as ServiceError | undefined)?.code;
}

describe('gRPC introspection.v1.Introspection/Introspect over a real connection', () => {
  let peers: Peers;
  let harness: Harness;

  before(async () => {
    peers = await startPeers();
    harness = await startHarness({ peers });
  });
  after(async () => {
    await harness?.stop();
    await peers?.stop();
  });

  test('answers every field of an active certificate-bound token presented with its certificate', async () => {
    const consentId = `g-${randomUUID()}`;
    peers.setConsent(consentId, 'CONSENT_STATUS_AUTHORISED', 'tpp-client');
    const { token, record } = await harness.issue({
      consentId,
      openbankingIntentId: consentId,
      cnf: { 'x5t#S256': 'thumb-1' },
      authorizationDetails: [{ type: 'payment_initiation' }],
      acr: 'urn:openbanking:psd2:sca',
    });
    const response = await harness.introspection.call('introspect', {
      token,
      tokenTypeHint: 'access_token',
      presentedCertificateThumbprint: 'thumb-1',
      presentedDpopJkt: '',
    });
    assert.deepEqual(response, {
      active: true,
      scope: 'openid accounts',
      clientId: 'tpp-client',
      sub: 'customer-1',
      exp: record.expiresAt,
      iat: record.issuedAt,
      iss: ISSUER,
      aud: ['https://api.bank.test'],
      tokenType: 'Bearer',
      cnfX5tS256: 'thumb-1',
      cnfJkt: '',
      consentId,
      openbankingIntentId: consentId,
      authorizationDetailsJson: '[{"type":"payment_initiation"}]',
      acr: 'urn:openbanking:psd2:sca',
    });
  });

  test('a binding mismatch is inactive with every field empty', async () => {
    const certBound = await harness.issue({ cnf: { 'x5t#S256': 'thumb-2' } });
    const dpopBound = await harness.issue({ cnf: { jkt: 'jkt-2' } });
    const ask = (token: string, presentedCertificateThumbprint: string, presentedDpopJkt: string) =>
      harness.introspection.call('introspect', {
        token,
        tokenTypeHint: '',
        presentedCertificateThumbprint,
        presentedDpopJkt,
      });
    assert.deepEqual(await ask(certBound.token, 'another-thumb', ''), EMPTY);
    assert.deepEqual(
      await ask(certBound.token, '', 'jkt-2'),
      EMPTY,
      'a certificate-bound token without its certificate',
    );
    assert.deepEqual(await ask(dpopBound.token, '', 'another-jkt'), EMPTY);
    assert.deepEqual(await ask(dpopBound.token, 'thumb-2', ''), EMPTY, 'a DPoP-bound token without a DPoP proof');
    assert.equal((await ask(dpopBound.token, 'thumb-2', 'jkt-2')).active, true);
    assert.equal((await ask(certBound.token, '', '')).active, true, 'no presentation: the caller checks cnf itself');
  });

  test('an unknown token is inactive, an empty one is INVALID_ARGUMENT', async () => {
    const unknown = await harness.introspection.call('introspect', {
      token: randomBytes(32).toString('base64url'),
      tokenTypeHint: '',
      presentedCertificateThumbprint: '',
      presentedDpopJkt: '',
    });
    assert.deepEqual(unknown, EMPTY);
    await assert.rejects(
      harness.introspection.call('introspect', {
        token: '',
        tokenTypeHint: '',
        presentedCertificateThumbprint: '',
        presentedDpopJkt: '',
      }),
      (error: unknown) => error instanceof DomainError && grpcCodeOf(error) === status.INVALID_ARGUMENT,
    );
  });

  test('consent-service down is UNAVAILABLE, never active', async () => {
    const local = await startHarness({ peers, consentsTarget: `ipv4:///127.0.0.1:${await freePort()}` });
    try {
      const { token } = await local.issue({ consentId: `gone-${randomUUID()}`, cnf: { 'x5t#S256': 't' } });
      await assert.rejects(
        local.introspection.call('introspect', {
          token,
          tokenTypeHint: '',
          presentedCertificateThumbprint: 't',
          presentedDpopJkt: '',
        }),
        (error: unknown) =>
          error instanceof DomainError && error.kind === 'unavailable' && grpcCodeOf(error) === status.UNAVAILABLE,
      );
    } finally {
      await local.stop();
    }
  });
});
