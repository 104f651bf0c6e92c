import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadSettings } from '@obip/config';
import { defaultPlatformSettings } from '@obip/platform-config';
import { settingsShape } from '../config';
import {
  changedLiveSettings,
  liveSettingsFromEnvironment,
  liveSettingsFromPlatform,
  needsNewEngine,
} from './live.settings';

const environment = liveSettingsFromEnvironment(loadSettings('auth-server', settingsShape, {}));

test("the environment's defaults are config-api's first settings, so subscribing changes nothing until an admin acts", () => {
  const platform = liveSettingsFromPlatform(defaultPlatformSettings(environment.issuer));
  assert.deepEqual(changedLiveSettings(environment, platform), []);
});

test('reports which live settings changed, whatever the key order', () => {
  const reordered = { ...environment, lifetimes: Object.fromEntries(Object.entries(environment.lifetimes).reverse()) };
  assert.deepEqual(changedLiveSettings(environment, reordered as typeof environment), []);
  const changed = {
    ...environment,
    lifetimes: { ...environment.lifetimes, idTokenSeconds: 200 },
    rateLimits: { ...environment.rateLimits, parRequestsPerClientPerMinute: 5 },
  };
  assert.deepEqual(changedLiveSettings(environment, changed), ['lifetimes', 'rateLimits']);
});

test('only rate limits and the issuer leave the engine as it is', () => {
  assert.equal(needsNewEngine([]), false);
  assert.equal(needsNewEngine(['rateLimits', 'issuer']), false);
  for (const name of ['lifetimes', 'requirements', 'signingAlgorithms', 'defaultFapiProfile'] as const) {
    assert.equal(needsNewEngine([name]), true, name);
  }
});
