import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseRedisUrl } from './redis.url';

describe('parseRedisUrl', () => {
  test('reads a standalone URL with credentials and database', () => {
    assert.deepEqual(parseRedisUrl('redis://svc:p%40ss@redis.obip.svc:6380/2'), {
      mode: 'standalone',
      host: 'redis.obip.svc',
      port: 6380,
      tls: false,
      username: 'svc',
      password: 'p@ss',
      db: 2,
    });
  });

  test('defaults the port to 6379 and turns TLS on for rediss', () => {
    assert.deepEqual(parseRedisUrl('rediss://:secret@cache.example.com'), {
      mode: 'standalone',
      host: 'cache.example.com',
      port: 6379,
      tls: true,
      password: 'secret',
    });
  });

  test('reads an IPv6 host', () => {
    assert.deepEqual(parseRedisUrl('redis://[::1]:7000'), { mode: 'standalone', host: '::1', port: 7000, tls: false });
  });

  test('reads a Sentinel URL: sentinels, master name, database and sentinel password', () => {
    assert.deepEqual(parseRedisUrl('redis-sentinel://s1:26379,s2,s3:26380/mymaster/1?sentinelPassword=sp'), {
      mode: 'sentinel',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26379 },
        { host: 's3', port: 26380 },
      ],
      masterName: 'mymaster',
      tls: false,
      db: 1,
      sentinelPassword: 'sp',
    });
  });

  test('reads a Cluster URL', () => {
    assert.deepEqual(parseRedisUrl('rediss-cluster://u:p@n1:7000,n2:7001'), {
      mode: 'cluster',
      nodes: [
        { host: 'n1', port: 7000 },
        { host: 'n2', port: 7001 },
      ],
      tls: true,
      username: 'u',
      password: 'p',
    });
  });

  test('rejects what it cannot mean, without echoing the password', () => {
    const cases = [
      'http://localhost:6379',
      'redis://a:1,b:2',
      'redis://localhost/db',
      'redis://localhost:99999',
      'redis-sentinel://s1:26379',
      'redis-cluster://n1:7000/1',
      'not a url',
    ];
    for (const url of cases) assert.throws(() => parseRedisUrl(url), TypeError, url);
    assert.throws(
      () => parseRedisUrl('redis://user:hunter2@host:notaport'),
      (error: unknown) => error instanceof TypeError && !error.message.includes('hunter2'),
    );
  });
});
