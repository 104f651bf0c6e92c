// Run by test-servers.test.ts in a child `node --test`: one failing and one passing test, to
// show which of them get the server log tail.
import { test } from 'node:test';
import { attachServerLogsOnFailure } from '../test-servers';

attachServerLogsOnFailure({ sources: [{ name: 'own-server', logs: () => 'own line 1\nown line 2' }], lines: 1 });

test('fails on purpose', () => {
  throw new Error('expected failure');
});

test('passes', () => {});
