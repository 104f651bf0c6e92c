// A node:test reporter that writes the pass/fail/skip totals of a run as JSON, so that
// scripts/test-all.mjs can sum every project's suite into the one closing line CI reads, and
// print the end-to-end suite's results per flow (test file). Each failure keeps the first lines of
// its error: CI shows only the end of the output, where the closing list is.
//
// While the run goes on it also keeps `progress.json` beside the summary (the totals so far and the
// tests and files still running), so that scripts/run-tests.mjs can say what was running when it
// stops a project that outlived its time limit.
import { renameSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const REASON_LINES = 6;
// The end of scripts/test-linger-watchdog.mjs's message.
const LINGER_MARK = 'a test left it open';

/** The first lines of a failed test's error, its cause unwrapped (node:test wraps hook errors). */
function failureReason(error) {
  if (!error) return '';
  const cause = error.cause instanceof Error ? error.cause : error;
  const text = cause.stack ?? String(cause.message ?? cause);
  return text.split('\n').slice(0, REASON_LINES).join('\n');
}

/** Writes the progress file at most once a second, and once more a second after the last change. */
function progressWriter(totals, running) {
  const artifacts = process.env.OBIP_TEST_ARTIFACTS;
  if (!artifacts) return () => undefined;
  const path = join(artifacts, 'progress.json');
  let writtenAt = 0;
  let trailing;
  const write = () => {
    clearTimeout(trailing);
    trailing = undefined;
    writtenAt = Date.now();
    // Whole or not at all: run-tests.mjs may read it at any moment.
    writeFileSync(`${path}.next`, `${JSON.stringify({ ...totals, running: [...running.values()] })}\n`);
    renameSync(`${path}.next`, path);
  };
  return (final = false) => {
    if (final || Date.now() - writtenAt >= 1000) write();
    else trailing ??= setTimeout(write, 1000).unref();
  };
}

export default async function* countReporter(source) {
  const totals = { passed: 0, failed: 0, skipped: 0, failures: [], suiteFailures: [], files: {} };
  // Tests (and, under process isolation, test files) dequeued and not yet complete.
  const running = new Map();
  const noteProgress = progressWriter(totals, running);
  // What scripts/test-linger-watchdog.mjs said about a file it failed, to give as the file's reason.
  const lingering = new Map();
  for await (const event of source) {
    const { data } = event;
    const file = data?.file ? relative(process.cwd(), data.file) : '';
    if (event.type === 'test:stderr' && data.message.includes(LINGER_MARK)) lingering.set(file, data.message.trim());
    const key = `${file}:${data?.line}:${data?.column}:${data?.nesting}:${data?.name}`;
    if (event.type === 'test:dequeue') {
      running.set(key, {
        name: file && file !== data.name ? `${file} › ${data.name}` : data.name,
        startedAt: Date.now(),
      });
      noteProgress();
    } else if (event.type === 'test:complete') {
      running.delete(key);
      noteProgress();
    }
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    if (data.details?.type === 'suite') {
      // Not counted (its tests are), but a failed hook's error is only on the suite.
      const error = data.details.error;
      if (event.type === 'test:fail' && error?.failureType !== 'subtestsFailed')
        totals.suiteFailures.push(`${file} › ${data.name} (suite)\n${failureReason(error).replace(/^/gm, '      ')}`);
      continue;
    }
    const perFile = (totals.files[file] ??= { passed: 0, failed: 0, skipped: 0, seconds: 0 });
    perFile.seconds += (data.details?.duration_ms ?? 0) / 1000;
    const outcome =
      data.skip !== undefined || data.todo !== undefined ? 'skipped' : event.type === 'test:pass' ? 'passed' : 'failed';
    totals[outcome] += 1;
    perFile[outcome] += 1;
    if (outcome === 'failed') {
      const reason = lingering.get(file) ?? failureReason(data.details?.error);
      totals.failures.push(`${file} › ${data.name}${reason ? `\n${reason.replace(/^/gm, '      ')}` : ''}`);
    }
  }
  noteProgress(true);
  yield `${JSON.stringify(totals)}\n`;
}
