import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { PrivateAddressError, isPrivateAddress, publicOnlyLookup } from './index';

test('classifies loopback, private, link-local, CGNAT, ULA and mapped addresses as private', () => {
  for (const address of [
    '127.0.0.1',
    '10.1.2.3',
    '172.16.0.1',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '::1',
    'fd00::1',
    'fe80::1',
    '::ffff:127.0.0.1',
    '0.0.0.0',
    'not-an-ip',
  ]) {
    assert.equal(isPrivateAddress(address), true, address);
  }
  for (const address of ['8.8.8.8', '1.1.1.1', '2001:4860:4860::8888'])
    assert.equal(isPrivateAddress(address), false, address);
});

test('a request through publicOnlyLookup to a name that resolves to loopback fails before connecting', async () => {
  const error = await new Promise<unknown>((resolve) => {
    const req = request({ host: 'localhost', port: 9, path: '/', lookup: publicOnlyLookup }, () => resolve(undefined));
    req.once('error', resolve);
    req.end();
  });
  assert.ok(error instanceof PrivateAddressError);
  assert.equal(error.code, 'EPRIVATEADDRESS');
});
