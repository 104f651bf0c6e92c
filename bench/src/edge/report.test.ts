// The edge and scale-out sections are computed from the saved runs: the ratios, the CPU per
// request and the sizing table must follow from the numbers (synthetic here, not results).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { MachineInfo } from '../harness/machine';
import { summariseAll } from '../harness/passes';
import { renderEdgeSection, renderScaleSection } from './report';
import { DEFAULT_EDGE_PLAN, type EdgeResults, type EdgeRun } from './run';
import type { EdgeTargetName } from './targets';

const machine: MachineInfo = {
  cores: 2,
  cpuModel: 'test CPU',
  memoryGiB: 8,
  node: 'v24.0.0',
  platform: 'linux x64',
  packages: { autocannon: '9.0.0' },
};

/** One run at `rate` req/s with the replicas keeping `cores` busy in total and nginx `nginxCores`. */
function run(rate: number, cores: number[], nginxCores?: number): EdgeRun {
  return {
    requests: rate * 10,
    durationSeconds: 10,
    requestsPerSecond: rate,
    p50: 2,
    p90: 3,
    p99: 5,
    max: 9,
    errors: 0,
    timeouts: 0,
    non2xx: 0,
    mismatches: 0,
    rssMiB: 150,
    loadAverage: { before: 1, after: 2 },
    processes: [
      ...cores.map((busy, index) => ({ role: 'service' as const, pid: 10 + index, rssMiB: 150, cores: busy })),
      ...(nginxCores === undefined ? [] : [{ role: 'nginx' as const, pid: 20, rssMiB: 10, cores: nginxCores }]),
    ],
  };
}

const results: EdgeResults = {
  plan: { ...DEFAULT_EDGE_PLAN, services: ['introspection'], repeats: 1 },
  services: {
    introspection: {
      loadAverage: { before: 1, after: 2 },
      peak: summariseAll<EdgeTargetName>({
        direct: [run(8_000, [1])],
        edge: [run(6_000, [0.8], 0.6)],
        edge2: [run(9_000, [0.6, 0.6], 0.9)],
      }),
    },
  },
};
const input = { results, machine, source: undefined, measuredAt: '2026-01-01', findings: '' };

describe('edge and scale-out report', () => {
  test('states the edge ratio and the CPU per request of nginx and of the replica', () => {
    const section = renderEdgeSection(input);
    assert.match(section, /Through the edge: 0\.75 × the direct throughput/);
    // nginx: 0.6 core at 6,000 req/s = 0.1 ms a request; the replica 1 core at 8,000 req/s direct.
    assert.match(section, /nginx 0\.100 ms/);
    assert.match(section, /0\.125 ms direct, 0\.133 ms behind the twin/);
    assert.doesNotMatch(section, /token endpoint/, 'a service not measured gets no table');
  });

  test('states the two-replica ratio and sizes replicas from the throughput per core', () => {
    const section = renderScaleSection(input);
    assert.match(section, /Two replicas: \*\*1\.50 ×\*\* the throughput of one/);
    // 8,000 req/s per core; at the chart's 60 %: ⌈5,000 / 4,800⌉ + 1 = 3.
    assert.match(section, /\| token-introspection \| 8,000 +\| 6,400 +\| 0\.100 +\| 60 % +\| 3 +\|/);
  });
});
