import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it, test } from 'node:test';
import { addressBucket, createSourceAddressReader } from './source-address';

/** The two things the reader looks at: the TCP peer and the headers as Node parsed them. */
const request = (peer: string | undefined, headers: Record<string, string> = {}) =>
  ({ socket: { remoteAddress: peer }, headers }) as unknown as IncomingMessage;

describe('the source address behind the edge', () => {
  const sourceAddressOf = createSourceAddressReader({ trustedProxyCidrs: ['10.0.0.0/8', 'fd00::/8'] });

  it("takes the edge's own entry of X-Forwarded-For (the last), never the ones a client added", () => {
    assert.equal(sourceAddressOf(request('10.1.2.3', { 'x-forwarded-for': '203.0.113.7' })), '203.0.113.7');
    assert.equal(
      sourceAddressOf(request('10.1.2.3', { 'x-forwarded-for': '198.51.100.1, 203.0.113.7' })),
      '203.0.113.7',
    );
    assert.equal(sourceAddressOf(request('::ffff:10.1.2.3', { 'x-forwarded-for': '203.0.113.8' })), '203.0.113.8');
  });

  it("ignores X-Forwarded-For from a peer that is not the edge: the peer's own address counts", () => {
    assert.equal(sourceAddressOf(request('192.0.2.50', { 'x-forwarded-for': '203.0.113.7' })), '192.0.2.50');
    assert.equal(sourceAddressOf(request('::ffff:192.0.2.51')), '192.0.2.51');
  });

  it('gives no address for an in-cluster caller reaching the service without the edge, or a malformed forwarded value', () => {
    assert.equal(sourceAddressOf(request('10.1.2.3')), undefined);
    assert.equal(sourceAddressOf(request('10.1.2.3', { 'x-forwarded-for': 'unknown' })), undefined);
    assert.equal(sourceAddressOf(request('10.1.2.3', { 'x-forwarded-for': '203.0.113.7, ' })), undefined);
    assert.equal(sourceAddressOf(request(undefined)), undefined);
  });

  it('without trusted proxies reads no header at all', () => {
    const peerOnly = createSourceAddressReader({});
    assert.equal(peerOnly(request('127.0.0.1', { 'x-forwarded-for': '203.0.113.7' })), '127.0.0.1');
    assert.equal(createSourceAddressReader({ trustedProxyCidrs: [] })(request('10.1.2.3')), '10.1.2.3');
  });
});

test('an IPv6 client counts as its /64, an IPv4-mapped one as IPv4', () => {
  assert.equal(addressBucket('2001:db8:1:2:a:b:c:d'), '2001:db8:1:2::/64');
  assert.equal(addressBucket('2001:DB8:0001:0002::1'), '2001:db8:1:2::/64');
  assert.equal(addressBucket('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(addressBucket('::1'), '0:0:0:0::/64');
  assert.equal(addressBucket('fe80::1%eth0'), 'fe80:0:0:0::/64');
  assert.equal(addressBucket('64:ff9b::192.0.2.33'), '64:ff9b:0:0::/64');
  assert.equal(addressBucket('::ffff:203.0.113.9'), '203.0.113.9');
  assert.equal(addressBucket('203.0.113.9'), '203.0.113.9');
  assert.equal(addressBucket('not-an-address'), undefined);
  assert.equal(addressBucket('203.0.113.999'), undefined);
});
