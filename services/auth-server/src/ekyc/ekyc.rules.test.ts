import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CUSTOMER_VERIFIED_IDENTITY } from '../testing/auth-server.harness';
import {
  checkVerifiedClaimsRequest,
  describeOffer,
  identityReleaseOf,
  offerVerifiedClaims,
  selectVerifiedClaims,
  verifiedClaimsValue,
} from './ekyc.rules';

const NOW = Date.parse('2026-01-01T00:00:00Z') / 1000;

describe('verified_claims selection', () => {
  test('a request without a framework filter gets every matching verification, as an array', () => {
    const selected = selectVerifiedClaims(
      { verification: { trust_framework: null }, claims: { given_name: null } },
      CUSTOMER_VERIFIED_IDENTITY,
      NOW,
    );
    assert.deepEqual(
      selected.map((entry) => entry.verification.trust_framework),
      ['uk_tfida', 'eidas'],
    );
    assert.ok(Array.isArray(verifiedClaimsValue(selected)));
    assert.deepEqual(identityReleaseOf(selected), [
      { trustFramework: 'uk_tfida', claims: ['given_name'] },
      { trustFramework: 'eidas', claims: ['given_name'] },
    ]);
  });

  test('values, assurance level and evidence type filter the verifications', () => {
    const request = (verification: Record<string, unknown>) => ({
      verification: { trust_framework: { values: ['eidas', 'uk_tfida'] }, ...verification },
      claims: { family_name: null },
    });
    const level = selectVerifiedClaims(
      request({ assurance_level: { value: 'substantial' } }),
      CUSTOMER_VERIFIED_IDENTITY,
      NOW,
    );
    assert.deepEqual(
      level.map((entry) => entry.verification),
      [{ trust_framework: 'eidas', assurance_level: 'substantial' }],
    );
    const records = selectVerifiedClaims(
      request({ evidence: [{ type: { value: 'electronic_record' } }] }),
      CUSTOMER_VERIFIED_IDENTITY,
      NOW,
    );
    assert.deepEqual(
      records.map((entry) => entry.verification.trust_framework),
      ['eidas'],
    );
    assert.equal(records[0]?.verification.evidence?.[0]?.type, 'electronic_record');
  });

  test('a claim value filter releases the claim only when it matches; nothing matching is nothing', () => {
    const matching = selectVerifiedClaims(
      {
        verification: { trust_framework: { value: 'uk_tfida' } },
        claims: { given_name: { value: 'Alice' }, birthdate: null },
      },
      CUSTOMER_VERIFIED_IDENTITY,
      NOW,
    );
    assert.deepEqual(matching[0]?.claims, { given_name: 'Alice', birthdate: '1990-05-12' });
    const other = selectVerifiedClaims(
      { verification: { trust_framework: { value: 'uk_tfida' } }, claims: { given_name: { value: 'Bob' } } },
      CUSTOMER_VERIFIED_IDENTITY,
      NOW,
    );
    assert.deepEqual(other, []);
    assert.equal(verifiedClaimsValue(other), undefined);
    const unheld = selectVerifiedClaims(
      { verification: { trust_framework: null }, claims: { place_of_birth: null } },
      CUSTOMER_VERIFIED_IDENTITY,
      NOW,
    );
    assert.deepEqual(unheld, [], 'absent data is omitted, never invented');
  });

  test('the consent page names the claims and the verification they come from', () => {
    const offered = offerVerifiedClaims(
      { verification: { trust_framework: null }, claims: { given_name: null, nationalities: null } },
      CUSTOMER_VERIFIED_IDENTITY,
      NOW,
    );
    assert.deepEqual(
      offered.map(({ answer, source }) => describeOffer(answer, source)),
      [
        'given name — checked under uk_tfida on 2025-06-03 from your passport',
        'given name, nationality — checked under eidas on 2016-02-11 from an electronic record',
      ],
    );
  });

  test('requests are checked in both containers and as arrays', () => {
    checkVerifiedClaimsRequest(
      [
        { verification: { trust_framework: null }, claims: { address: { locality: null } } },
        {
          verification: { trust_framework: { value: 'eidas' } },
          claims: { given_name: { essential: true, purpose: 'to open an account' } },
        },
      ],
      'userinfo',
    );
    assert.throws(
      () =>
        checkVerifiedClaimsRequest(
          { verification: { trust_framework: null }, claims: { given_name: { values: [] } } },
          'id_token',
        ),
      /claims\.id_token\.verified_claims\.claims\.given_name\.values must be a non-empty array/,
    );
  });
});
