// bench:dcr — the scenario command (../harness/command.ts) for DCR registration: each target
// must register a real client before it is measured.
import { runScenarioCommand } from '../harness/command';
import { describeRun, measurePeak, planFromEnvironment } from '../harness/passes';
import { checkDcrTargets } from './report';
import { DEFAULT_DCR_PLAN, runDcrBenchmark } from './run';
import { checkDcrAnswers, DCR_PACKAGES, DCR_SOURCES, startDcrTargets } from './targets';

const plan = planFromEnvironment(DEFAULT_DCR_PLAN);

await runScenarioCommand({
  scenario: 'dcr',
  title: 'DCR registration',
  answered: 'every target registers a client',
  packages: DCR_PACKAGES,
  sources: DCR_SOURCES,
  start: startDcrTargets,
  async checkAnswers(started) {
    for (const target of Object.values(started.targets)) await checkDcrAnswers(target, started);
  },
  measure: (started, log, loadBefore) => runDcrBenchmark(started, plan, log, loadBefore),
  checkTargets: checkDcrTargets,
  async profile(started, log) {
    const run = await measurePeak(started.targets.obip, started.targets.obip.requests, plan);
    log(`profiled run (not a result): ${describeRun(run)}`);
    return [{ label: 'registration at peak', window: run.window }];
  },
});
