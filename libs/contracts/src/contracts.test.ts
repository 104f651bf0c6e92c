import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { after, describe, test } from 'node:test';

const root = resolve(import.meta.dirname, '../../..');
const buf = join(root, 'node_modules/.bin/buf');
const committedGen = join(root, 'libs/contracts/src/gen');

function run(command: string, args: string[]) {
  return spawnSync(command, args, { cwd: root, encoding: 'utf8' });
}

/** Every file under dir, as sorted paths relative to dir. */
function listFiles(dir: string): string[] {
  const walk = (current: string): string[] =>
    readdirSync(current).flatMap((entry) => {
      const path = join(current, entry);
      return statSync(path).isDirectory() ? walk(path) : [relative(dir, path)];
    });
  return walk(dir).sort();
}

describe('proto contracts', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'obip-contracts-'));
  after(() => rmSync(scratch, { recursive: true, force: true }));

  test('pass buf lint with the STANDARD rules', () => {
    const result = run(buf, ['lint', 'proto']);
    assert.equal(result.status, 0, result.stdout + result.stderr);
  });

  test('match the committed generated code byte for byte (run contracts:generate when this fails)', () => {
    // -o prefixes the template's out path, so the fresh copy lands under scratch/.
    const result = run(buf, ['generate', 'proto', '--template', 'proto/buf.gen.yaml', '-o', scratch]);
    assert.equal(result.status, 0, result.stdout + result.stderr);
    const freshGen = join(scratch, 'libs/contracts/src/gen');

    const files = listFiles(committedGen);
    assert.deepEqual(listFiles(freshGen), files);
    for (const file of files) {
      const fresh = readFileSync(join(freshGen, file));
      assert.ok(fresh.equals(readFileSync(join(committedGen, file))), `${file} is stale`);
    }
  });

  test('make no breaking change against the main branch', (t) => {
    const hasMain = run('git', ['rev-parse', '--verify', '--quiet', 'main']).status === 0;
    if (!hasMain) {
      t.skip('no local main branch to compare with');
      return;
    }
    if (run('git', ['cat-file', '-e', 'main:proto/buf.yaml']).status !== 0) {
      t.skip('main has no proto/buf.yaml yet');
      return;
    }
    const result = run(buf, ['breaking', 'proto', '--against', `${join(root, '.git')}#branch=main,subdir=proto`]);
    assert.equal(result.status, 0, result.stdout + result.stderr);
  });
});
