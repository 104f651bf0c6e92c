#!/usr/bin/env node
// Builds one project with esbuild. A service becomes one ESM bundle (dist/<root>/main.js) with its
// libs inlined and npm packages left external, which is what its container image runs. A lib is
// bundled the same way from src/index.ts, which proves it builds on its own.
// Usage: node scripts/build-project.mjs <projectRoot> [--outdir <dir under the repo>]
// (--outdir: the benchmarks bundle services beside dist/, so a build target running at the same
// time never removes the file a benchmark is running.)
import { build } from 'esbuild';
import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const projectRoot = process.argv[2];
if (!projectRoot) {
  console.error('usage: node scripts/build-project.mjs <projectRoot>');
  process.exit(2);
}
const entry = ['src/main.ts', 'src/index.ts'].map((file) => join(root, projectRoot, file)).find(existsSync);
if (!entry) {
  console.log(`${projectRoot}: no src/main.ts or src/index.ts, nothing to bundle`);
  process.exit(0);
}
const outdirFlag = process.argv.indexOf('--outdir');
const outdir =
  outdirFlag > 0 ? resolve(root, process.argv[outdirFlag + 1], projectRoot) : join(root, 'dist', projectRoot);
rmSync(outdir, { recursive: true, force: true });
const result = await build({
  entryPoints: [entry],
  outdir,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  packages: 'external',
  sourcemap: true,
  tsconfig: join(root, 'tsconfig.base.json'),
  logLevel: 'warning',
  metafile: true,
});
const bytes = Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0);
console.log(`${projectRoot}: built ${relativeOut(outdir)} (${Math.round(bytes / 1024)} KiB)`);

function relativeOut(path) {
  return path.slice(root.length + 1);
}
