// A node:test reporter that writes the pass/fail/skip totals of a run as JSON, so that
// scripts/test-all.mjs can sum every project's suite into the one closing line CI reads, and
// print the end-to-end suite's results per flow (test file).
import { relative } from 'node:path';

export default async function* countReporter(source) {
  const totals = { passed: 0, failed: 0, skipped: 0, failures: [], files: {} };
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { data } = event;
    if (data.details?.type === 'suite') continue;
    const file = data.file ? relative(process.cwd(), data.file) : '';
    const perFile = (totals.files[file] ??= { passed: 0, failed: 0, skipped: 0, seconds: 0 });
    perFile.seconds += (data.details?.duration_ms ?? 0) / 1000;
    const outcome =
      data.skip !== undefined || data.todo !== undefined ? 'skipped' : event.type === 'test:pass' ? 'passed' : 'failed';
    totals[outcome] += 1;
    perFile[outcome] += 1;
    if (outcome === 'failed') totals.failures.push(`${file} › ${data.name}`);
  }
  yield `${JSON.stringify(totals)}\n`;
}
