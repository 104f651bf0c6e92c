// Static checks of services/*/Dockerfile (no container engine runs on the build machines).
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from './render';

const SERVICES = readdirSync(join(ROOT, 'services')).filter((name) =>
  existsSync(join(ROOT, 'services', name, 'project.json')),
);
const PORTS: Record<string, number[]> = {
  'auth-server': [8081, 50051, 9091],
  'dcr-service': [8082, 50052, 9092],
  'consent-service': [8083, 50053, 9093],
  'token-introspection': [8084, 50054, 9094],
  'config-api': [8085, 50055, 9095],
};

interface Instruction {
  keyword: string;
  args: string;
}

/** Dockerfile instructions, with continuation lines joined and comments dropped. */
export function parseDockerfile(text: string): Instruction[] {
  return text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [keyword, ...rest] = line.split(/\s+/);
      return { keyword: keyword!.toUpperCase(), args: rest.join(' ') };
    });
}

/** Problems of a Dockerfile against the image rules of issue 9; empty when it passes. */
export function dockerfileProblems(text: string, service: string): string[] {
  const problems: string[] = [];
  const instructions = parseDockerfile(text);
  const stages = new Set<string>();
  let froms = 0;
  let finalUser: string | undefined;
  for (const { keyword, args } of instructions) {
    if (keyword === 'FROM') {
      froms += 1;
      const [image, as, alias] = args.split(/\s+/).filter((p) => !p.startsWith('--'));
      if (!stages.has(image!)) {
        const match = /^node:(\d+)(\.\d+\.\d+)?-([a-z]+-)?slim$/.exec(image!.split('@')[0]!);
        if (image!.includes('$')) problems.push(`base image ${image} is not pinned (build argument)`);
        else if (!match) problems.push(`base image ${image} is not a node:<version>-slim tag`);
        else if (match[1] !== '24') problems.push(`base image ${image} is not Node 24 LTS`);
      }
      if (as?.toUpperCase() === 'AS' && alias) stages.add(alias);
      finalUser = undefined;
    }
    if (keyword === 'USER') finalUser = args.split(':')[0];
    if (keyword === 'COPY' || keyword === 'ADD') {
      const sources = args
        .split(/\s+/)
        .filter((p) => !p.startsWith('--'))
        .slice(0, -1);
      for (const source of sources) {
        if (/(\.pem|\.key|\.p12|\.pfx|id_rsa|\.env|credentials|secret)/i.test(source))
          problems.push(`copies ${source}`);
      }
      if (keyword === 'ADD') problems.push('uses ADD (use COPY)');
    }
    if ((keyword === 'ARG' || keyword === 'ENV') && /(PASSWORD|SECRET|TOKEN|PRIVATE|_KEY)\b/i.test(args)) {
      problems.push(`${keyword} ${args} holds a secret in the image history`);
    }
  }
  if (froms < 2) problems.push('not a multi-stage build');
  if (!finalUser) problems.push('the runtime stage has no USER');
  else if (finalUser === 'root' || finalUser === '0') problems.push(`the runtime stage runs as ${finalUser}`);
  const body = instructions.map((i) => `${i.keyword} ${i.args}`).join('\n');
  if (!body.includes(`dist/services/${service}`)) problems.push(`does not use dist/services/${service}`);
  if (!/npm ci[^\n]*--omit=dev/.test(body) && !/npm prune[^\n]*--omit=dev/.test(body))
    problems.push('installs dev dependencies');
  if (!/CMD \[[^\]]*main\.js/.test(body) && !/ENTRYPOINT \[[^\]]*main\.js/.test(body))
    problems.push('does not run main.js');
  for (const port of PORTS[service] ?? []) {
    if (!new RegExp(`EXPOSE[^\\n]*\\b${port}\\b`).test(body)) problems.push(`does not expose ${port}`);
  }
  return problems;
}

describe('service Dockerfiles', () => {
  it('covers every service', () => {
    assert.deepEqual(SERVICES.sort(), Object.keys(PORTS).sort());
  });

  for (const service of SERVICES) {
    it(`builds ${service} as a pinned, non-root, production-only Node 24 image`, () => {
      const path = join(ROOT, 'services', service, 'Dockerfile');
      assert.ok(existsSync(path), `${path} is missing`);
      assert.deepEqual(dockerfileProblems(readFileSync(path, 'utf8'), service), []);
    });
  }

  it('flags the mistakes it is meant to catch', () => {
    const bad = [
      'FROM node:latest AS build',
      'ARG NPM_TOKEN',
      'COPY . .',
      'FROM node:${VERSION}-slim',
      'COPY tls/server.key /app/',
      'CMD ["node", "index.js"]',
    ].join('\n');
    const problems = dockerfileProblems(bad, 'auth-server');
    for (const expected of [
      /node:latest/,
      /NPM_TOKEN/,
      /not pinned/,
      /server\.key/,
      /no USER/,
      /dev dependencies/,
      /main\.js/,
      /8081/,
    ]) {
      assert.ok(
        problems.some((p) => expected.test(p)),
        `missing ${expected} in ${problems.join('; ')}`,
      );
    }
  });

  it('keeps keys, env files and local state out of the build context', () => {
    const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split(/\r?\n/);
    for (const pattern of ['**/*.pem', '**/*.key', '**/.env*', '.git', '**/node_modules', '.tools', '.sandbox']) {
      assert.ok(ignore.includes(pattern), `.dockerignore lacks ${pattern}`);
    }
  });
});
