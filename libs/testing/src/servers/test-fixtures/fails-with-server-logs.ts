// Run by test-servers.test.ts in a child `node --test`: one failing and one passing test, to
// show which of them get the server log tail.
import { test } from 'node:test';
import { attachServerLogsOnFailure } from '../test-servers';

attachServerLogsOnFailure({
  sources: [
    { name: 'own-server', logs: () => 'own line 1\nown line 2' },
    // A group (a platform): each of its logs gets its own tail.
    () => [
      { name: 'service-a', logs: () => 'a line 1\na line 2' },
      { name: 'service-b', logs: () => 'b line 1\nb line 2' },
    ],
  ],
  lines: 1,
});

test('fails on purpose', () => {
  throw new Error('expected failure');
});

test('passes', () => {});
