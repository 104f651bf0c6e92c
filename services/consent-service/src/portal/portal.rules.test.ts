import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  actorLabel,
  deviceAuthenticationOf,
  displayableLogoUri,
  isAllowedOrigin,
  isCsrfTokenValid,
  isOwnedBy,
  isRevocable,
  permissionLabel,
  scopeLabel,
} from './portal.rules';

test('a customer owns only the consents they decided', () => {
  assert.equal(isOwnedBy({ subject: 'cust-1' }, 'cust-1'), true);
  assert.equal(isOwnedBy({ subject: 'cust-2' }, 'cust-1'), false);
  assert.equal(isOwnedBy({ subject: undefined }, 'cust-1'), false);
});

test('only an Authorised access or generic consent can be revoked; a payment is spent, not revoked', () => {
  assert.equal(isRevocable({ status: 'Authorised', kind: 'account-access' }), true);
  assert.equal(isRevocable({ status: 'Authorised', kind: 'generic' }), true);
  assert.equal(isRevocable({ status: 'Authorised', kind: 'domestic-payment' }), false);
  for (const status of ['AwaitingAuthorisation', 'Rejected', 'Revoked', 'Expired', 'Consumed'] as const) {
    assert.equal(isRevocable({ status, kind: 'account-access' }), false, status);
  }
});

test('a form post from another origin, or an opaque one, is refused; a request without Origin needs the token alone', () => {
  const portal = 'https://bank.example';
  assert.equal(isAllowedOrigin(portal, portal), true);
  assert.equal(isAllowedOrigin(undefined, portal), true);
  assert.equal(isAllowedOrigin('https://evil.example', portal), false);
  assert.equal(isAllowedOrigin('null', portal), false);
  assert.equal(isAllowedOrigin('https://bank.example:8443', portal), false);
});

test('the synchronizer token must match exactly', () => {
  assert.equal(isCsrfTokenValid('abc', 'abc'), true);
  for (const sent of ['abd', 'ab', 'abcd', undefined, ['abc'], 1]) {
    assert.equal(isCsrfTokenValid(sent, 'abc'), false, String(sent));
  }
});

test('a logo is shown only from an https URL without credentials', () => {
  assert.equal(displayableLogoUri('https://logos.example/a.png')?.origin, 'https://logos.example');
  for (const uri of [
    'http://logos.example/a.png',
    'javascript:alert(1)',
    'data:image/png;base64,AAAA',
    'https://user:pw@logos.example/a.png',
    'not a url',
    `https://logos.example/${'a'.repeat(2_100)}`,
    undefined,
  ]) {
    assert.equal(displayableLogoUri(uri), undefined, String(uri).slice(0, 40));
  }
});

test('history actors and permissions read as words', () => {
  assert.equal(actorLabel('customer:cust-1', 'cust-1', 'Budget Buddy'), 'You');
  assert.equal(actorLabel('client:tpp-1', 'cust-1', 'Budget Buddy'), 'Budget Buddy');
  assert.equal(actorLabel('system:expiry', 'cust-1', 'Budget Buddy'), 'Expired automatically');
  assert.equal(permissionLabel('ReadAccountsDetail'), 'Read accounts detail');
});

test('a decision vouches for the session’s acr and amr, or else for the password sign-in', () => {
  assert.deepEqual(deviceAuthenticationOf({ acr: 'urn:openbanking:psd2:ca', amr: ['pwd', 'otp'] }), {
    acr: 'urn:openbanking:psd2:ca',
    amr: ['pwd', 'otp'],
  });
  assert.deepEqual(deviceAuthenticationOf({}), { acr: 'urn:openbanking:psd2:sca', amr: ['pwd'] });
  assert.deepEqual(deviceAuthenticationOf({ acr: '', amr: [] }), { acr: 'urn:openbanking:psd2:sca', amr: ['pwd'] });
});

test('scopes read as words; an unknown one as it is', () => {
  assert.equal(scopeLabel('accounts'), 'See your account information');
  assert.equal(scopeLabel('custom:scope'), 'custom:scope');
});
