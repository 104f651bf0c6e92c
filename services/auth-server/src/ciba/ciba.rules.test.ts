import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defaultPlatformSettings } from '@obip/platform-config';
import { checkBindingMessage, cibaExpirySeconds } from './ciba.feature';

const refusedAs = (code: string) => (error: unknown) => (error as { error?: string }).error === code;

describe('CIBA rules', () => {
  test('binding_message: letters of any script, digits and plain punctuation, up to the limit', () => {
    for (const message of ['Code 4711', 'Zahlung #12 für Müller', 'Платёж 42', 'Pay £10? No: 10.00/EUR (ok)']) {
      assert.doesNotThrow(() => checkBindingMessage(message, 64, false), message);
    }
    assert.doesNotThrow(() => checkBindingMessage('ß'.repeat(64), 64, false));
    for (const message of ['ß'.repeat(65), '<script>', 'line\nbreak', 'tab\there', '"quoted"', 'trailing ', '']) {
      assert.throws(() => checkBindingMessage(message, 64, false), refusedAs('invalid_binding_message'), message);
    }
  });

  test('binding_message may be left out only when an OBIE intent gives the request its context', () => {
    assert.doesNotThrow(() => checkBindingMessage(undefined, 64, true));
    assert.throws(() => checkBindingMessage(undefined, 64, false), refusedAs('invalid_binding_message'));
    assert.throws(() => checkBindingMessage('<x>', 64, true), refusedAs('invalid_binding_message'));
  });

  test('auth_req_id lifetime: requested_expiry capped at the maximum, the default without one', () => {
    const settings = { ...defaultPlatformSettings().ciba, defaultExpirySeconds: 300, maxExpirySeconds: 600 };
    assert.equal(cibaExpirySeconds(undefined, settings), 300);
    assert.equal(cibaExpirySeconds('120', settings), 120);
    assert.equal(cibaExpirySeconds(120, settings), 120);
    assert.equal(cibaExpirySeconds('86400', settings), 600);
  });
});
