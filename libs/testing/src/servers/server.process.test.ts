import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startOnFreshPorts } from './server.process';

const fixture = join(import.meta.dirname, 'test-fixtures', 'interrupted-server.ts');

/** Starts the fixture, interrupts it once Redis is up, and reports how it and Redis ended. */
async function interrupt(mode: 'handles-signal' | 'default') {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  while (!output.includes('\n')) await sleep(50);
  const started = JSON.parse(output) as { pid: number; logFile: string };
  child.kill('SIGINT');
  const ended = await exited;
  return {
    ...ended,
    redisAlive: await stillAliveAfter(started.pid, 3000),
    redisLog: readFileSync(started.logFile, 'utf8'),
  };
}

/** Whether `pid` still exists after `ms` (a killed child takes a moment to be reaped). */
async function stillAliveAfter(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return false;
    }
    if (Date.now() > deadline) return true;
    await sleep(50);
  }
}

describe('servers of an interrupted process', () => {
  test('a program that handles SIGINT itself stops its servers gracefully (Redis shuts down, not killed)', async () => {
    const ended = await interrupt('handles-signal');
    assert.equal(ended.code, 0);
    assert.equal(ended.redisAlive, false);
    assert.match(ended.redisLog, /Redis is now ready to exit/);
  });

  test('a program that does not handle SIGINT leaves no server running and terminates as interrupted', async () => {
    const ended = await interrupt('default');
    assert.equal(ended.signal, 'SIGINT');
    assert.equal(ended.redisAlive, false);
    assert.doesNotMatch(ended.redisLog, /Redis is now ready to exit/, 'killed at once, as before');
  });
});

describe('startOnFreshPorts', () => {
  const taken = () => new Error('listen EADDRINUSE: address already in use 127.0.0.1:4000');

  test('starts again while a port was taken, and returns the first start that succeeds', async () => {
    let calls = 0;
    const started = await startOnFreshPorts(async () => {
      calls += 1;
      if (calls < 3) throw calls === 1 ? taken() : new Error('nginx exited: bind() failed (Address already in use)');
      return 'up';
    });
    assert.deepEqual([started, calls], ['up', 3]);
  });

  test('gives up after the last attempt, and at once on any other failure', async () => {
    let calls = 0;
    await assert.rejects(
      startOnFreshPorts(async () => {
        calls += 1;
        throw taken();
      }, 2),
      /EADDRINUSE/,
    );
    assert.equal(calls, 2);
    calls = 0;
    await assert.rejects(
      startOnFreshPorts(async () => {
        calls += 1;
        throw new Error('bad settings');
      }),
      /bad settings/,
    );
    assert.equal(calls, 1);
  });
});
