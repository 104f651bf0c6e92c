import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { decodeProtectedHeader } from 'jose';
import { generateSigningKey } from '@obip/testing';
import { createReloadingResponseSigner } from './introspection.signing';

const dir = mkdtempSync(join(tmpdir(), 'obip-introspection-keys-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const quiet = { info: () => undefined, warn: () => undefined };
const response = { active: false } as const;

async function kidOf(signer: { sign: (options: { audience: string; response: typeof response }) => Promise<string> }) {
  return decodeProtectedHeader(await signer.sign({ audience: 'rs', response })).kid;
}

async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('a reloading response signer', () => {
  it('signs with the keys config-api rotated in, and keeps the current ones when the file turns bad', async () => {
    const file = join(dir, 'jwks.json');
    const first = await generateSigningKey('PS256');
    const second = await generateSigningKey('PS256');
    writeFileSync(file, JSON.stringify({ keys: [first.privateJwk] }));
    const signer = await createReloadingResponseSigner({
      file,
      issuer: 'https://as.example',
      reloadMs: 20,
      logger: quiet,
    });
    try {
      assert.equal(await kidOf(signer), first.kid);

      writeFileSync(file, JSON.stringify({ keys: [second.privateJwk, first.privateJwk] }));
      await eventually(async () => (await kidOf(signer)) === second.kid, 'the rotated key signs');

      writeFileSync(file, '{"keys": "not a key set"');
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(await kidOf(signer), second.kid, 'a broken file changes nothing');
    } finally {
      signer.stop();
    }
  });
});
