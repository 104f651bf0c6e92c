import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { freePort } from '@obip/testing';
import { createPingSender, type PingOutcome } from './ciba.ping';

const quietLogger = { info() {}, warn() {} };

describe('CIBA ping delivery', () => {
  test('refuses a loopback endpoint unless private addresses are allowed, without connecting', async () => {
    let connections = 0;
    const server = createServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const outcomes: PingOutcome[] = [];
    try {
      const sender = createPingSender({
        timeoutMs: 1_000,
        attempts: 3,
        allowPrivate: false,
        logger: quietLogger,
        onOutcome: (outcome) => outcomes.push(outcome),
      });
      assert.equal(await sender.deliver(`https://127.0.0.1:${port}/cb`, 'token', 'req-1'), 'refused');
      assert.equal(await sender.deliver(`https://localhost:${port}/cb`, 'token', 'req-2'), 'refused');
      assert.equal(await sender.deliver(`http://tpp.example/cb`, 'token', 'req-3'), 'refused');
      assert.equal(connections, 0);
      assert.deepEqual(outcomes, ['refused', 'refused', 'refused']);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  test('gives up after its attempts when nothing answers, and says failed', async () => {
    const port = await freePort();
    const sender = createPingSender({
      timeoutMs: 1_000,
      attempts: 2,
      allowPrivate: true,
      backoffMs: 10,
      logger: quietLogger,
    });
    assert.equal(await sender.deliver(`https://127.0.0.1:${port}/cb`, 'token', 'req-1'), 'failed');
    await sender.idle();
  });
});
