// bench:discovery — the scenario command (../harness/command.ts) for the discovery document and
// JWKS: every target must serve both documents before it is measured.
import { AUTH_SERVER_PACKAGES, AUTH_SERVER_SOURCES } from '../auth-server/targets';
import { runScenarioCommand } from '../harness/command';
import { describeRun, measurePeak, planFromEnvironment } from '../harness/passes';
import { checkDiscoveryTargets } from './report';
import { DEFAULT_PLAN, DOCUMENTS, runDiscoveryBenchmark } from './run';
import { checkDocumentAnswers, startDiscoveryTargets } from './targets';

const plan = planFromEnvironment(DEFAULT_PLAN);

await runScenarioCommand({
  scenario: 'discovery',
  title: 'discovery',
  answered: 'every target serves both documents',
  packages: AUTH_SERVER_PACKAGES,
  sources: AUTH_SERVER_SOURCES,
  start: startDiscoveryTargets,
  async checkAnswers(started) {
    for (const document of DOCUMENTS)
      for (const target of Object.values(started.targets[document])) await checkDocumentAnswers(target);
  },
  measure: (started, log, loadBefore) => runDiscoveryBenchmark(started, plan, log, loadBefore),
  checkTargets: checkDiscoveryTargets,
  async profile(started, log) {
    const windows = [];
    for (const document of DOCUMENTS) {
      const target = started.targets[document].obip;
      const run = await measurePeak(target, target.requests, plan);
      log(`profiled ${document} run (not a result): ${describeRun(run)}`);
      windows.push({ label: document, window: run.window });
    }
    return windows;
  },
});
