// node:test global setup (`--test-global-setup`, passed by scripts/run-tests.mjs).
//
// The runner loads this file itself, with Node's built-in type stripping and without the
// `--import tsx` that test processes get, so extensionless imports and `@obip/*` aliases would
// not resolve here. Hence only erasable TypeScript in this file, and the harness is loaded
// through tsx's API.
import { tsImport } from 'tsx/esm/api';
import type * as SharedServersModule from './servers/shared-servers';

type SharedServers = typeof SharedServersModule;

let shared: SharedServers | undefined;

async function load(): Promise<SharedServers> {
  // One module instance for setup and teardown: it remembers which servers it started.
  shared ??= (await tsImport('./servers/shared-servers', import.meta.url)) as SharedServers;
  return shared;
}

export async function globalSetup(): Promise<void> {
  await (await load()).startSharedServers();
}

export async function globalTeardown(): Promise<void> {
  await (await load()).stopSharedServers();
}
