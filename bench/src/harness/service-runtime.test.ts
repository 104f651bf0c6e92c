import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chartServiceSettings, describeServiceLaunch, serviceLaunch, serviceLaunchEnv } from './service-runtime';

describe('how the benchmarks launch services', () => {
  test("reads the chart's memory settings, and refuses values that lack them", () => {
    const chart = chartServiceSettings();
    assert.equal(typeof chart.nodeOptions, 'string');
    assert.ok(Number.isInteger(chart.mallocArenaMax));
    assert.ok(Number.isInteger(chart.mallocMmapThreshold));
    const file = join(mkdtempSync(join(tmpdir(), 'obip-bench-values-')), 'values.yaml');
    writeFileSync(file, 'global:\n  logLevel: info\n');
    assert.throws(() => chartServiceSettings(file), /global\.nodeOptions/);
    writeFileSync(file, 'global:\n  nodeOptions: ""\n  mallocArenaMax: 2\n');
    assert.throws(() => chartServiceSettings(file), /global\.mallocMmapThreshold/);
  });

  test('runs the bundle with the chart settings by default, and takes overrides and profiling options', () => {
    const chart = chartServiceSettings();
    assert.deepEqual(serviceLaunch('', {}), { runtime: 'bundle', ...chart });
    const profiled = serviceLaunch('--cpu-prof', { BENCH_SERVICE_RUNTIME: 'source', BENCH_NODE_OPTIONS: '--x' });
    assert.deepEqual(profiled, {
      runtime: 'source',
      nodeOptions: '--x --cpu-prof',
      mallocArenaMax: chart.mallocArenaMax,
      mallocMmapThreshold: chart.mallocMmapThreshold,
    });
    assert.equal(serviceLaunch('', { BENCH_MALLOC_ARENA_MAX: '0' }).mallocArenaMax, 0);
    assert.equal(serviceLaunch('', { BENCH_MALLOC_MMAP_THRESHOLD: '0' }).mallocMmapThreshold, 0);
    assert.throws(() => serviceLaunch('', { BENCH_MALLOC_MMAP_THRESHOLD: '128k' }), /BENCH_MALLOC_MMAP_THRESHOLD/);
    assert.throws(() => serviceLaunch('', { BENCH_SERVICE_RUNTIME: 'docker' }), /bundle or source/);
  });

  test('sets the malloc settings only when they are not 0, and says how the services ran', () => {
    const launch = {
      runtime: 'bundle' as const,
      nodeOptions: '--max-semi-space-size=16',
      mallocArenaMax: 2,
      mallocMmapThreshold: 131072,
    };
    assert.deepEqual(serviceLaunchEnv(launch), {
      NODE_OPTIONS: '--max-semi-space-size=16',
      MALLOC_ARENA_MAX: '2',
      MALLOC_MMAP_THRESHOLD_: '131072',
    });
    assert.deepEqual(serviceLaunchEnv({ ...launch, mallocArenaMax: 0, mallocMmapThreshold: 0 }), {
      NODE_OPTIONS: '--max-semi-space-size=16',
    });
    assert.equal(
      describeServiceLaunch(launch),
      'services as their images run them (esbuild bundle), NODE_OPTIONS=--max-semi-space-size=16, MALLOC_ARENA_MAX=2, MALLOC_MMAP_THRESHOLD_=131072',
    );
    assert.equal(describeServiceLaunch(undefined), 'services under tsx');
  });
});
