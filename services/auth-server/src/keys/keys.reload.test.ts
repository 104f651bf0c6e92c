import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JWK } from 'jose';
import { watchSigningKeysFile } from './keys.reload';
import { checkSigningJwks, generateSigningJwk } from './keys.signing';

const dir = mkdtempSync(join(tmpdir(), 'obip-keys-reload-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function recordingLogger() {
  const lines: Array<{ level: string; message: string }> = [];
  const record = (level: string) => (_bindings: object, message: string) => void lines.push({ level, message });
  return { lines, info: record('info'), warn: record('warn'), error: record('error') };
}

/** A watch whose timer never fires during the test: each step calls check() itself. */
async function watchOf(file: string, initial: { keys: JWK[] }, onKeys: (jwks: { keys: JWK[] }) => void = () => {}) {
  let current = initial;
  const logger = recordingLogger();
  const applied: Array<{ keys: JWK[] }> = [];
  const watch = watchSigningKeysFile({
    file,
    intervalMs: 3_600_000,
    current: () => current,
    onKeys(jwks) {
      onKeys(jwks);
      applied.push(jwks);
      current = jwks;
    },
    logger,
  });
  after(() => watch.stop());
  return { watch, logger, applied };
}

test('the same keys written again, however formatted, change nothing', async () => {
  const file = join(dir, 'same.json');
  const jwks = { keys: [await generateSigningJwk('PS256'), await generateSigningJwk('ES256')] };
  writeFileSync(file, JSON.stringify(jwks, null, 2));
  const { watch, applied } = await watchOf(file, checkSigningJwks(jwks, 'X'));
  await watch.check();
  assert.equal(applied.length, 0);
});

test('an invalid or missing file is reported once per content, and the next valid one is taken', async () => {
  const file = join(dir, 'invalid.json');
  const jwks = { keys: [await generateSigningJwk('PS256'), await generateSigningJwk('ES256')] };
  const { watch, logger, applied } = await watchOf(file, checkSigningJwks(jwks, 'X'));
  await watch.check();
  await watch.check();
  writeFileSync(file, 'not json');
  await watch.check();
  await watch.check();
  assert.deepEqual(
    logger.lines.map((line) => line.message),
    [
      'SIGNING_KEYS_FILE cannot be read; keeping the signing keys in force',
      'SIGNING_KEYS_FILE: is not JSON; keeping the signing keys in force',
    ],
  );
  const next = { keys: [await generateSigningJwk('ES256'), await generateSigningJwk('PS256')] };
  writeFileSync(file, JSON.stringify(next));
  await watch.check();
  assert.deepEqual(
    applied.map((set) => set.keys.map((key) => key.kid)),
    [next.keys.map((key) => key.kid)],
  );
});

test('keys the engine cannot use are refused once and the keys in force stay', async () => {
  const file = join(dir, 'unusable.json');
  const jwks = { keys: [await generateSigningJwk('PS256'), await generateSigningJwk('ES256')] };
  const { watch, logger, applied } = await watchOf(file, checkSigningJwks(jwks, 'X'), () => {
    throw new Error('engine refused the keys');
  });
  writeFileSync(file, JSON.stringify({ keys: [await generateSigningJwk('PS256'), await generateSigningJwk('ES256')] }));
  await watch.check();
  await watch.check();
  assert.equal(applied.length, 0);
  assert.deepEqual(
    logger.lines.map((line) => line.level),
    ['error'],
  );
});
