// startPlatform itself: a start that fails part-way leaves nothing running and says why, with
// the logs of what had started (a file's before hook that fails has no platform to read them from).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SERVICES, startPlatform } from './platform';

test('a start that fails after the services are up stops them and the edge, and reports their logs', async () => {
  const listening: string[] = [];
  await assert.rejects(
    startPlatform({
      name: 'failed_start',
      startLate: ['token-introspection'],
      lateEnv: async (started) => {
        listening.push(...SERVICES.filter((name) => name !== 'token-introspection').map(started.httpUrl));
        listening.push(started.twin.mtlsUrl.replace('https:', 'http:'));
        throw new Error('the late settings could not be made');
      },
    }),
    (error: Error) => {
      assert.match(error.message, /^the platform did not start: the late settings could not be made\n/);
      for (const name of ['dcr-service', 'auth-server', 'consent-service', 'edge'])
        assert.match(error.message, new RegExp(`^== ${name}\n`, 'm'), name);
      return true;
    },
  );
  assert.equal(listening.length, 4);
  for (const url of listening)
    await assert.rejects(fetch(`${url}/`), (error: Error & { cause?: { code?: string } }) => {
      assert.equal(error.cause?.code, 'ECONNREFUSED', url);
      return true;
    });
});
