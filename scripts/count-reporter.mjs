// A node:test reporter that writes the pass/fail/skip totals of a run as JSON, so that
// scripts/test-all.mjs can sum every project's suite into the one closing line CI reads, and
// print the end-to-end suite's results per flow (test file). Each failure keeps the first lines of
// its error: CI shows only the end of the output, where the closing list is.
import { relative } from 'node:path';

const REASON_LINES = 6;

/** The first lines of a failed test's error, its cause unwrapped (node:test wraps hook errors). */
function failureReason(error) {
  if (!error) return '';
  const cause = error.cause instanceof Error ? error.cause : error;
  const text = cause.stack ?? String(cause.message ?? cause);
  return text.split('\n').slice(0, REASON_LINES).join('\n');
}

export default async function* countReporter(source) {
  const totals = { passed: 0, failed: 0, skipped: 0, failures: [], suiteFailures: [], files: {} };
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { data } = event;
    const file = data.file ? relative(process.cwd(), data.file) : '';
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
      const reason = failureReason(data.details?.error);
      totals.failures.push(`${file} › ${data.name}${reason ? `\n${reason.replace(/^/gm, '      ')}` : ''}`);
    }
  }
  yield `${JSON.stringify(totals)}\n`;
}
