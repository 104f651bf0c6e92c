import assert from 'node:assert/strict';
import { pbkdf2 } from 'node:crypto';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { summarisePass, type MeasuredRun } from './passes';
import { cpuPerRequestSection, cpuPerRequestTable } from './tables';
import { cpuSeconds, measureThreadCpu, parseProcStat, threadGroupOf, type ThreadCpuPerRequest } from './thread-cpu';

/** Keeps this thread busy until the process has used `ms` more CPU time (wall time would shrink under load). */
function spin(ms: number): void {
  const start = process.cpuUsage();
  for (;;) {
    const used = process.cpuUsage(start);
    if ((used.user + used.system) / 1000 >= ms) return;
  }
}

describe('thread CPU per request', () => {
  it('reads utime and stime from a stat line whose thread name holds spaces and parentheses', () => {
    // Fields after the name: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime …
    const line = '4242 (V8 DefaultWorke) (x)) S 1 4242 4242 0 -1 4194368 10 0 0 0 37 5 0 0 20 0 9 0 100';
    assert.deepEqual(parseProcStat(line), { name: 'V8 DefaultWorke) (x)', ticks: 42 });
    assert.throws(() => parseProcStat('garbage'), /not a \/proc stat line/);
  });

  it('groups threads by the names Node gives them, the main thread by its id', () => {
    assert.equal(threadGroupOf('MainThread', true), 'main');
    assert.equal(threadGroupOf('node', true), 'main');
    assert.equal(threadGroupOf('V8Worker', false), 'v8Workers');
    assert.equal(threadGroupOf('V8 DefaultWorke', false), 'v8Workers');
    assert.equal(threadGroupOf('libuv-worker', false), 'libuvPool');
    assert.equal(threadGroupOf('node', false), 'other');
  });

  it("counts this process's main thread and libuv pool work apart", async () => {
    const cpu = measureThreadCpu(process.pid);
    spin(300);
    // PBKDF2 runs on libuv's pool: its CPU must land there, not on the main thread.
    await promisify(pbkdf2)('password', 'salt', 600_000, 32, 'sha256');
    const perRequest = cpu.stop(1);
    assert.ok(perRequest, 'this process is alive');
    assert.ok(perRequest.main >= 200_000, `main thread ${perRequest.main} µs after 300 ms of CPU`);
    assert.ok(perRequest.libuvPool >= 50_000, `libuv pool ${perRequest.libuvPool} µs after PBKDF2`);
    const sum = perRequest.main + perRequest.v8Workers + perRequest.libuvPool + perRequest.other;
    assert.equal(perRequest.total, sum);

    const halved = measureThreadCpu(process.pid);
    spin(200);
    const overTwo = halved.stop(2)!;
    assert.ok(
      overTwo.main >= 70_000 && overTwo.main < 200_000,
      `200 ms of CPU over 2 requests: ${overTwo.main} µs each`,
    );
  });

  it('has nothing to say for a process that is gone or for no requests', () => {
    assert.equal(cpuSeconds(2 ** 22 + 1), undefined);
    assert.equal(measureThreadCpu(process.pid).stop(0), undefined);
    assert.equal(measureThreadCpu(2 ** 22 + 1).stop(10), undefined);
  });
});

describe('CPU per request in the results and the report', () => {
  const run = (requestsPerSecond: number, cpu?: ThreadCpuPerRequest): MeasuredRun => ({
    requests: requestsPerSecond * 10,
    durationSeconds: 10,
    requestsPerSecond,
    p50: 1,
    p90: 2,
    p99: 3,
    max: 4,
    errors: 0,
    timeouts: 0,
    non2xx: 0,
    mismatches: 0,
    rssMiB: 100,
    ...(cpu ? { cpuPerRequestUs: cpu } : {}),
  });
  const cpu = (main: number): ThreadCpuPerRequest => ({
    main,
    v8Workers: 50,
    libuvPool: 80,
    other: 1,
    total: main + 131,
  });

  it('summarises each thread group over the runs that recorded it', () => {
    const pass = summarisePass([run(1000, cpu(400)), run(1100, cpu(500)), run(900)]);
    assert.deepEqual(pass.cpuPerRequestUs?.main, { median: 450, min: 400, max: 500 });
    assert.deepEqual(pass.cpuPerRequestUs?.total, { median: 581, min: 531, max: 631 });
    assert.equal(summarisePass([run(1000)]).cpuPerRequestUs, undefined);
  });

  it('renders a row per target that recorded it, and nothing when none did', () => {
    const peak = {
      obip: summarisePass([run(800, cpu(1000))]),
      engine: summarisePass([run(1600, cpu(400))]),
      floor: summarisePass([run(3000)]),
    };
    const labels = { obip: 'obip', engine: 'engine', floor: 'floor' };
    const table = cpuPerRequestTable(['obip', 'engine', 'floor'] as const, labels, peak);
    const rows = table.split('\n').slice(2);
    assert.equal(rows.length, 2);
    assert.match(rows[0]!, /^\| obip +\| 1,000 \(1,000–1,000\) +\| 50 \(50–50\)/);
    assert.match(rows[1]!, /^\| engine /);
    assert.match(cpuPerRequestSection(['obip'] as const, labels, peak), /^### Server CPU per request/);
    assert.equal(cpuPerRequestSection(['floor'] as const, labels, peak), '');
  });
});
