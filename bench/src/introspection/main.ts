// bench:introspection — the scenario command (../harness/command.ts) for RFC 7662 introspection
// of opaque tokens: every target must answer live and unknown tokens correctly before it is
// measured.
import { runScenarioCommand } from '../harness/command';
import { runHttpLoad } from '../harness/http-load';
import { planFromEnvironment } from '../harness/passes';
import { checkTargets } from './report';
import { DEFAULT_PLAN, runIntrospectionBenchmark } from './run';
import { checkTargetAnswers, startIntrospectionTargets } from './targets';

const TOKEN_COUNT = 256;
const plan = planFromEnvironment(DEFAULT_PLAN);

await runScenarioCommand({
  scenario: 'introspection',
  title: 'introspection',
  answered: 'every target answers correctly',
  packages: ['oidc-provider', 'autocannon', 'ioredis', '@grpc/grpc-js', 'tsx', 'typescript'],
  sources: ['services/token-introspection', 'libs'],
  start: (options) => startIntrospectionTargets({ tokenCount: TOKEN_COUNT, ...options }),
  async checkAnswers(started) {
    for (const target of Object.values(started.targets)) await checkTargetAnswers(target);
  },
  measure: (started, log) => runIntrospectionBenchmark(started, plan, log),
  checkTargets,
  async profile(started, log) {
    const target = started.targets.obip;
    const result = await runHttpLoad({
      url: target.url,
      connections: plan.connections,
      durationSeconds: plan.durationSeconds,
      headers: target.headers,
      bodies: target.bodies(),
    });
    log(`profiled run (not a result): ${Math.round(result.requestsPerSecond)} req/s`);
    return [{ label: 'introspection at peak', window: result.window }];
  },
});
