import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ConfigError, VARIABLES, loadConfig } from '../../src/config/index.js';

test('an empty environment gives the documented defaults', () => {
  const config = loadConfig({});
  assert.equal(config.port, 8080);
  assert.equal(config.host, '127.0.0.1');
  assert.equal(config.databaseUrl, undefined);
  assert.match(config.dataDir, /\/var$/);
  assert.deepEqual(config.corsOrigins, []);
  assert.equal(config.publicBaseUrl, 'http://127.0.0.1:8080');
});

test('each variable is read from its documented name', () => {
  const config = loadConfig({
    PORT: '9000',
    DATABASE_URL: 'postgres://upp@db.internal:5432/upp',
    UPP_CORS_ORIGINS: 'https://a.kz, https://b.kz',
    UPP_TRUST_PROXY: 'true',
    LOG_LEVEL: 'warn',
  });
  assert.equal(config.port, 9000);
  assert.equal(config.databaseUrl, 'postgres://upp@db.internal:5432/upp');
  assert.deepEqual(config.corsOrigins, ['https://a.kz', 'https://b.kz']);
  assert.equal(config.trustProxy, true);
  assert.equal(config.logLevel, 'warn');
});

const WRONG_VALUES: [string, string][] = [
  ['PORT', '80a'],
  ['PORT', '70000'],
  ['DATABASE_URL', 'mysql://x@y/z'],
  ['DATABASE_URL', 'not a url'],
  ['LOG_LEVEL', 'verbose'],
  ['NODE_ENV', 'staging'],
  ['UPP_CORS_ORIGINS', 'portal.kz'],
  ['UPP_TRUST_PROXY', 'maybe'],
  ['UPP_BODY_LIMIT', '10'],
  ['UPP_RATE_LIMIT_ANON', '-5'],
  ['UPP_METRICS_TOKEN', 'short'],
  ['UPP_PUBLIC_URL', 'ftp://x'],
];

for (const [name, value] of WRONG_VALUES) {
  test(`${name}=${value} stops the start with a message naming ${name} and what it takes`, () => {
    assert.throws(
      () => loadConfig({ [name]: value }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.variable === name &&
        error.message.startsWith(`${name}=`) &&
        error.message.includes(' takes '),
    );
  });
}

test('every variable is described in the README configuration table', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  for (const variable of Object.values(VARIABLES)) {
    const row = new RegExp(`^\\| \`${variable.name}\` +\\|`, 'm');
    assert.match(readme, row, `${variable.name} is not in the README`);
  }
});
