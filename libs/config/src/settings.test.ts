import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { SettingsError, describeSettings, loadSettings, setting } from './index';

const shape = {
  HTTP_PORT: setting.port(8080, 'HTTP listener'),
  REDIS_URL: setting.url('redis://127.0.0.1:6379', 'Redis', ['redis', 'rediss']),
  MODE: setting.oneOf(['a', 'b'], 'a', 'mode'),
  STRICT: setting.boolean(true, 'strictness'),
  GRACE_MS: setting.durationMs(1000, 'grace', { max: 5000 }),
};

test('applies defaults when variables are unset or empty', () => {
  const settings = loadSettings('svc', shape, { HTTP_PORT: '' });
  assert.deepEqual(settings, {
    HTTP_PORT: 8080,
    REDIS_URL: 'redis://127.0.0.1:6379',
    MODE: 'a',
    STRICT: true,
    GRACE_MS: 1000,
  });
});

test('coerces and validates provided values', () => {
  const settings = loadSettings('svc', shape, { HTTP_PORT: '9000', STRICT: 'false', MODE: 'b', GRACE_MS: '5000' });
  assert.equal(settings.HTTP_PORT, 9000);
  assert.equal(settings.STRICT, false);
  assert.equal(settings.MODE, 'b');
});

test('a wrong value is reported with the variable name and the rule', () => {
  assert.throws(
    () => loadSettings('svc', shape, { HTTP_PORT: 'eighty', REDIS_URL: 'http://x', MODE: 'c', GRACE_MS: '9999' }),
    (error: unknown) => {
      assert.ok(error instanceof SettingsError);
      assert.equal(error.code, 'invalid_settings');
      assert.deepEqual(
        error.issues.map((issue) => issue.variable),
        ['HTTP_PORT', 'REDIS_URL', 'MODE', 'GRACE_MS'],
      );
      assert.match(error.message, /HTTP_PORT: .*"eighty"/);
      assert.match(error.message, /REDIS_URL: must be a URL with scheme redis or rediss/);
      return true;
    },
  );
});

test('a required setting without default names the variable when missing', () => {
  const required = { ISSUER: setting.url(undefined, 'issuer', ['https']) };
  assert.throws(
    () => loadSettings('svc', required, {}),
    (error: unknown) => error instanceof SettingsError && error.issues[0]?.variable === 'ISSUER',
  );
});

test('describes every setting with its default', () => {
  const lines = describeSettings(shape);
  assert.equal(lines.length, 5);
  assert.match(lines[0] ?? '', /^HTTP_PORT: HTTP listener \(default 8080\)$/);
});

test('parses lists, lists of known values and JSON settings, naming what is wrong', () => {
  const shape = {
    AUDIENCES: setting.list([], 'audiences'),
    METHODS: setting.listOf(['a', 'b'], ['a'], 'methods'),
    MAPPING: setting.json(z.record(z.string(), z.string()), { pwd: 'sca' }, 'mapping'),
  };
  assert.deepEqual(loadSettings('svc', shape, { AUDIENCES: ' x, ,y ', METHODS: 'b,a' }), {
    AUDIENCES: ['x', 'y'],
    METHODS: ['b', 'a'],
    MAPPING: { pwd: 'sca' },
  });
  assert.throws(
    () => loadSettings('svc', shape, { METHODS: 'a,c', MAPPING: '{not json' }),
    (error: unknown) =>
      error instanceof SettingsError && error.issues.map((issue) => issue.variable).join() === 'METHODS.1,MAPPING',
  );
});
