// The command behind bench:token and bench:par (../harness/command.ts): the auth-server endpoint
// scenarios differ only in their targets, the answer each must give, and their targets' checks.
import { runScenarioCommand, type TargetCheck } from '../harness/command';
import { describeRun, measurePeak, planFromEnvironment } from '../harness/passes';
import { DEFAULT_ENDPOINT_PLAN, runEndpointScenario, type EndpointResults } from './scenario';
import {
  AUTH_SERVER_PACKAGES,
  AUTH_SERVER_SOURCES,
  type AuthServerTargets,
  type EndpointTarget,
  type EndpointTargets,
  type StartAuthServerTargetsOptions,
} from './targets';

/** What differs between the endpoint scenarios' commands. */
export interface EndpointCommand {
  /** Name of the results file and of the scenario in it, e.g. `token`. */
  scenario: string;
  /** How the log names the benchmark, e.g. `token endpoint`. */
  title: string;
  /** Logged once every target answered for real, e.g. `every target issues a certificate-bound token`. */
  answered: string;
  start(options?: StartAuthServerTargetsOptions): Promise<EndpointTargets>;
  /** Throws unless the target answers the scenario's request as the scenario expects. */
  checkAnswers(target: EndpointTarget, servers: AuthServerTargets): Promise<void>;
  checkTargets(results: EndpointResults): TargetCheck[];
}

export async function runEndpointCommand(command: EndpointCommand, argv = process.argv): Promise<void> {
  const plan = planFromEnvironment(DEFAULT_ENDPOINT_PLAN);
  await runScenarioCommand(
    {
      ...command,
      packages: AUTH_SERVER_PACKAGES,
      sources: AUTH_SERVER_SOURCES,
      async checkAnswers(started) {
        for (const target of Object.values(started.targets)) await command.checkAnswers(target, started.servers);
      },
      measure: (started, log, loadBefore) =>
        runEndpointScenario(started.targets, started.servers.peers, plan, log, loadBefore),
      async profile(started, log) {
        const run = await measurePeak(started.targets.obip, started.targets.obip.requests, plan);
        log(`profiled run (not a result): ${describeRun(run)}`);
        return [{ label: `${command.title} at peak`, window: run.window }];
      },
    },
    argv,
  );
}
