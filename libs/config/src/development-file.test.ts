import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readOrCreateDevelopmentFile } from './development-file';

const root = mkdtempSync(join(tmpdir(), 'obip-dev-file-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('creates the file once, private, and returns the same content afterwards', async () => {
  const dir = join(root, 'once', 'keys');
  let created = 0;
  const create = () => `material-${++created}`;
  assert.equal(await readOrCreateDevelopmentFile(dir, 'material.json', create), 'material-1');
  assert.equal(await readOrCreateDevelopmentFile(dir, 'material.json', create), 'material-1');
  assert.equal(created, 1);
  assert.equal(statSync(join(dir, 'material.json')).mode & 0o777, 0o600);
  assert.equal(statSync(dir).mode & 0o777, 0o700);
});

test('of processes creating it at once, every one ends with the content that was written', async () => {
  const dir = join(root, 'race');
  let created = 0;
  const results = await Promise.all(
    [1, 2, 3, 4].map(() =>
      readOrCreateDevelopmentFile(dir, 'material.json', async () => {
        const mine = `material-${++created}`;
        // Every caller generates before any writes: the losers must read the winner's file.
        await new Promise((resolve) => setImmediate(resolve));
        return mine;
      }),
    ),
  );
  const written = readFileSync(join(dir, 'material.json'), 'utf8');
  assert.equal(created, 4);
  assert.deepEqual(results, [written, written, written, written]);
});
