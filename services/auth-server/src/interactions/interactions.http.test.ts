import { test } from 'node:test';
import assert from 'node:assert/strict';
import { interactionCsp, requestedIntentId } from './interactions.http';

test("the pages' CSP lets the forms end at the client's redirect_uri origin and nowhere else", () => {
  assert.equal(
    interactionCsp('https://tpp.example.com/callback?x=1'),
    "default-src 'none'; form-action 'self' https://tpp.example.com; frame-ancestors 'none'; base-uri 'none'",
  );
  for (const unusable of [undefined, '', 'not a url', 'javascript:alert(1)', 42]) {
    assert.equal(
      interactionCsp(unusable),
      "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
      String(unusable),
    );
  }
});

test('reads openbanking_intent_id from the claims parameter of the ID token or userinfo', () => {
  assert.equal(
    requestedIntentId(JSON.stringify({ id_token: { openbanking_intent_id: { value: 'c-1', essential: true } } })),
    'c-1',
  );
  assert.equal(requestedIntentId(JSON.stringify({ userinfo: { openbanking_intent_id: { value: 'c-2' } } })), 'c-2');
  assert.equal(requestedIntentId('{not json'), undefined);
  assert.equal(requestedIntentId(JSON.stringify({ id_token: { openbanking_intent_id: { value: 7 } } })), undefined);
});
