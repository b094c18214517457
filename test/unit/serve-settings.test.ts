// The auction rules `upp serve` runs with: DOMAIN.md's defaults, or what the operator configured.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { auctionSettings } from '../../src/cli/serve.js';
import { loadConfig } from '../../src/config/index.js';
import { AUCTION_DEFAULTS, checkSettings } from '../../src/domain/auction.js';

test('by default an auction steps 0.5%, runs 20 minutes and extends by 2', () => {
  const settings = auctionSettings(loadConfig({ UPP_DATA_DIR: '/tmp/x' }));
  assert.deepEqual(settings, AUCTION_DEFAULTS);
});

test('an operator sets the step, the session and the extension', () => {
  const settings = auctionSettings(
    loadConfig({
      UPP_DATA_DIR: '/tmp/x',
      UPP_AUCTION_STEP_BP: '100',
      UPP_AUCTION_MINUTES: '30',
      UPP_AUCTION_EXTENSION_MINUTES: '0',
    }),
  );
  assert.equal(settings.stepBasisPoints, 100);
  assert.equal(settings.durationMs, 30 * 60_000);
  assert.equal(settings.extensionWindowMs, 0);
  checkSettings(settings);
  assert.throws(() => loadConfig({ UPP_AUCTION_STEP_BP: '0' }), /UPP_AUCTION_STEP_BP/);
});
