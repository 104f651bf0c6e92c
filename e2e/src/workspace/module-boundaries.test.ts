import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { ESLint } from 'eslint';

// The dependency rules of STYLE.md, checked by running the workspace's real ESLint configuration
// over code that breaks them, so a weakened rule fails here rather than in review.
const root = resolve(import.meta.dirname, '../../..');
const eslint = new ESLint({ cwd: root });

// The Nx rule reads the cached project graph and silently skips itself without one.
before(() => {
  execFileSync(resolve(root, 'node_modules/.bin/nx'), ['show', 'projects'], {
    cwd: root,
    env: { ...process.env, NX_DAEMON: 'false' },
    stdio: 'ignore',
  });
});

async function ruleIdsFor(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: resolve(root, filePath) });
  return (result?.messages ?? []).map((message) => message.ruleId ?? message.message);
}

test('lint fails when a service imports another service', async () => {
  const ruleIds = await ruleIdsFor(
    'services/auth-server/src/boundary-probe.ts',
    "import { settingsShape } from '../../dcr-service/src/config';\nexport const probe = settingsShape;\n",
  );
  assert.ok(ruleIds.includes('@nx/enforce-module-boundaries'), `got ${ruleIds.join(', ')}`);
});

test('lint fails when a service imports another service through its package name', async () => {
  const ruleIds = await ruleIdsFor(
    'services/auth-server/src/boundary-probe.ts',
    "import { settingsShape } from '@obip/dcr-service/src/config';\nexport const probe = settingsShape;\n",
  );
  assert.ok(ruleIds.includes('@nx/enforce-module-boundaries'), `got ${ruleIds.join(', ')}`);
});

test('lint fails when a lib imports a service', async () => {
  const ruleIds = await ruleIdsFor(
    'libs/errors/src/boundary-probe.ts',
    "import { settingsShape } from '../../../services/config-api/src/config';\nexport const probe = settingsShape;\n",
  );
  assert.ok(ruleIds.includes('@nx/enforce-module-boundaries'), `got ${ruleIds.join(', ')}`);
});

test('a service may import a lib through its @obip alias', async () => {
  const ruleIds = await ruleIdsFor(
    'services/auth-server/src/boundary-probe.ts',
    "import { DomainError } from '@obip/errors';\nexport const probe = DomainError;\n",
  );
  assert.deepEqual(ruleIds, []);
});

test('business files import no transport or store', async () => {
  for (const module of ['express', 'mongoose', 'ioredis', '@grpc/grpc-js']) {
    const ruleIds = await ruleIdsFor(
      'services/dcr-service/src/registration/registration.service.ts',
      `import * as dependency from '${module}';\nexport const probe = dependency;\n`,
    );
    assert.ok(ruleIds.includes('no-restricted-imports'), `${module}: got ${ruleIds.join(', ')}`);
  }
});
