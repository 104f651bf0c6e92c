// `npm run sandbox` as a person runs it (the script itself, as a process): it comes up with every
// URL in endpoints.json, the demo TPP registered; Ctrl-C stops it cleanly; a second start keeps
// what the first registered; --fresh wipes it; a clash of ports is named before anything starts.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { Agent, fetch } from 'undici';

const root = resolve(import.meta.dirname, '../../..');
const stateDir = mkdtempSync(join(tmpdir(), 'obip-sandbox-test-'));
// Every sandbox port outside Linux's ephemeral range (32768-60999), from which other test files'
// free ports and every outgoing connection take theirs: http and ops ports land in 19081-23843,
// gRPC ports (50051 + offset) in 61051-64455.
const offset = String(11_000 + 100 * randomInt(0, 35));
const started: SandboxRun[] = [];
/** Five services, two databases, nginx and three apps, on two CI cores beside other test files. */
const START_BUDGET_MS = 300_000;
after(async () => {
  await Promise.all(started.map((run) => run.stop()));
  rmSync(stateDir, { recursive: true, force: true });
});

interface SandboxRun {
  output(): string;
  /** Resolves when the sandbox prints `ready`; rejects with its output if it exits first. */
  ready: Promise<void>;
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

function runSandbox(args: string[] = []): SandboxRun {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'e2e/src/sandbox/main.ts', ...args], {
    cwd: root,
    env: { ...process.env, OBIP_SANDBOX_DIR: stateDir, OBIP_SANDBOX_PORT_OFFSET: offset },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const ready = new Promise<void>((done, fail) => {
    const poll = setInterval(() => {
      if (output.includes('[sandbox]\u001b[0m ready')) {
        clearInterval(poll);
        done();
      }
    }, 100);
    void exited.then((code) => {
      clearInterval(poll);
      fail(new Error(`the sandbox exited (${code}) before it was ready:\n${output.slice(-4000)}`));
    });
  });
  ready.catch(() => undefined);
  const run: SandboxRun = {
    output: () => output,
    ready,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      return exited;
    },
  };
  started.push(run);
  return run;
}

interface Endpoints {
  issuer: string;
  discoveryUrl: string;
  publicBaseUrl: string;
  mtlsBaseUrl: string;
  directoryUrl: string;
  bankApiUrl: string;
  tppUrl: string;
  tppClientId: string;
  configApiUrl: string;
  caCertificate: string;
}

const readEndpoints = () => JSON.parse(readFileSync(join(stateDir, 'endpoints.json'), 'utf8')) as Endpoints;
const adminToken = () => readFileSync(join(stateDir, 'admin-token'), 'utf8').trim();

async function clientStatus(endpoints: Endpoints, clientId: string): Promise<number> {
  const response = await fetch(`${endpoints.configApiUrl}/v1/clients/${encodeURIComponent(clientId)}`, {
    headers: { authorization: `Bearer ${adminToken()}` },
  });
  await response.arrayBuffer();
  return response.status;
}

describe(
  'npm run sandbox',
  {
    timeout: 600_000,
    // --fresh would drop the sandbox's databases on that server.
    skip: process.env.MONGO_URL ? 'MONGO_URL names a server this test must not wipe' : false,
  },
  () => {
    let firstTppClientId = '';
    let firstCa = '';

    test(
      'comes up with every endpoint written down and the demo TPP registered; a clash of ports is named',
      { timeout: START_BUDGET_MS },
      async (t) => {
        const run = runSandbox();
        await run.ready;
        const endpoints = readEndpoints();
        const trust = new Agent({ connect: { ca: readFileSync(endpoints.caCertificate, 'utf8') } });
        t.after(() => trust.close());

        const discovery = await fetch(endpoints.discoveryUrl, { dispatcher: trust });
        assert.equal(discovery.status, 200);
        assert.equal(((await discovery.json()) as { issuer: string }).issuer, endpoints.issuer);
        const home = await fetch(endpoints.tppUrl, { dispatcher: trust });
        assert.equal(home.status, 200);
        assert.match(await home.text(), /Connect your bank/);
        assert.ok(endpoints.bankApiUrl.startsWith('https://127.0.0.1:'));
        assert.ok(endpoints.mtlsBaseUrl.startsWith('https://127.0.0.1:'));
        assert.ok(endpoints.directoryUrl.startsWith('http://127.0.0.1:'));
        assert.equal(await clientStatus(endpoints, endpoints.tppClientId), 200, 'the demo TPP registered through DCR');
        firstTppClientId = endpoints.tppClientId;
        firstCa = readFileSync(endpoints.caCertificate, 'utf8');

        const clash = runSandbox();
        assert.equal(await clash.exited, 1);
        assert.match(clash.output(), /ports in use: .*OBIP_SANDBOX_PORT_OFFSET/s);

        assert.equal(await run.stop(), 0);
        assert.match(run.output(), /stopped; the data is kept for the next start/);
      },
    );

    test(
      'a second start reuses the data: same CA, the first run’s client still registered',
      { timeout: START_BUDGET_MS },
      async () => {
        assert.ok(firstTppClientId, 'needs the first test');
        const run = runSandbox();
        await run.ready;
        assert.match(run.output(), /reusing the data of the last run/);
        const endpoints = readEndpoints();
        assert.equal(readFileSync(endpoints.caCertificate, 'utf8'), firstCa);
        assert.equal(await clientStatus(endpoints, firstTppClientId), 200);
        assert.notEqual(endpoints.tppClientId, firstTppClientId, 'the demo TPP registers anew at each start');
        assert.equal(await run.stop(), 0);
      },
    );

    test('--fresh wipes it: a new CA, the earlier clients gone', { timeout: START_BUDGET_MS }, async () => {
      assert.ok(firstTppClientId, 'needs the first test');
      const run = runSandbox(['--fresh']);
      await run.ready;
      assert.match(run.output(), /--fresh: wiping the data of earlier runs/);
      const endpoints = readEndpoints();
      assert.notEqual(readFileSync(endpoints.caCertificate, 'utf8'), firstCa);
      assert.equal(await clientStatus(endpoints, firstTppClientId), 404);
      assert.equal(await run.stop(), 0);
    });

    test('an unknown option prints the usage and starts nothing', async () => {
      const run = runSandbox(['--frsh']);
      assert.equal(await run.exited, 2);
      assert.match(run.output(), /usage: npm run sandbox \[-- --fresh\]/);
    });
  },
);
