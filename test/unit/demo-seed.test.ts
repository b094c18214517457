// When `upp serve` seeds demo procurements: UPP_DEMO_DATA against the driver and NODE_ENV.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { UppError } from '../../src/domain/errors.js';
import { seedsDemoData } from '../../src/services/demo-seed.js';

const config = (env: Record<string, string>) => loadConfig({ UPP_DATA_DIR: '/tmp/x', ...env });

test('auto seeds the embedded database outside production only', () => {
  assert.equal(seedsDemoData(config({}), 'pglite'), true);
  assert.equal(seedsDemoData(config({}), 'pg'), false);
  assert.equal(seedsDemoData(config({ NODE_ENV: 'production' }), 'pglite'), false);
});

test('on and off decide for any driver; on is refused in production', () => {
  assert.equal(seedsDemoData(config({ UPP_DEMO_DATA: 'on' }), 'pg'), true);
  assert.equal(seedsDemoData(config({ UPP_DEMO_DATA: 'off' }), 'pglite'), false);
  assert.throws(
    () => seedsDemoData(config({ UPP_DEMO_DATA: 'on', NODE_ENV: 'production' }), 'pglite'),
    (error: unknown) => error instanceof UppError && error.code === 'config.demo_in_production',
  );
});
