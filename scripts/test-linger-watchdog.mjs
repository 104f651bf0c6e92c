// Preloaded into every test file's process by scripts/run-tests.mjs. A test file whose tests have
// all finished but which leaves a timer, socket or child process behind never exits, and node:test
// waits for it forever: CI would run into its time limit and print nothing about why. Once the
// file's last test and hook are done, this gives it a grace period to exit by itself, then names
// what is still holding it and fails the file.
import { relative } from 'node:path';
import { after } from 'node:test';

// Only in a test file's own process (node:test marks those); the runner's process has nothing to watch.
if (process.env.NODE_TEST_CONTEXT) {
  const graceSeconds = Number(process.env.OBIP_TEST_LINGER_SECONDS ?? '20');
  after(() => {
    setTimeout(() => {
      const ownStdio = new Set(['TTYWrap']);
      const holding = process.getActiveResourcesInfo().filter((resource) => !ownStdio.has(resource));
      process.stderr.write(
        `${relative(process.cwd(), process.argv[1] ?? '.') || 'test file'}: still running ${graceSeconds} s after its last test ` +
          `(still open: ${holding.join(', ') || 'nothing node reports'}); a test left it open\n`,
      );
      process.exit(1);
    }, graceSeconds * 1000).unref();
  });
}
