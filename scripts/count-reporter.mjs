// A node:test reporter that writes the pass/fail/skip totals of a run as JSON, so that
// scripts/test-all.mjs can sum every project's suite into the one closing line CI reads.
export default async function* countReporter(source) {
  const totals = { passed: 0, failed: 0, skipped: 0, failures: [] };
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { data } = event;
    if (data.details?.type === 'suite') continue;
    if (data.skip !== undefined || data.todo !== undefined) totals.skipped += 1;
    else if (event.type === 'test:pass') totals.passed += 1;
    else {
      totals.failed += 1;
      totals.failures.push(`${data.file ?? ''} › ${data.name}`);
    }
  }
  yield `${JSON.stringify(totals)}\n`;
}
