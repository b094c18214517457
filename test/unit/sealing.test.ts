// Sealed offers: only the procurement's own private key, unwrapped by the platform key, opens an
// offer; a tampered envelope, another procurement's key or another wrapping key does not.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { UppError } from '../../src/domain/errors.js';
import {
  WrappingKey,
  newProcurementKeys,
  openingKey,
  seal,
  unseal,
} from '../../src/services/sealing.js';

const wrapping = WrappingKey.fromBytes(randomBytes(32));
const offer = Buffer.from(JSON.stringify({ lot: 1, price: '1234567.89' }), 'utf8');

const refusedWith = (code: string) => (error: unknown) =>
  error instanceof UppError && error.code === code;

test('an offer sealed to a procurement opens with its unwrapped key, and only then', () => {
  const keys = newProcurementKeys(wrapping, 'p-1');
  const sealed = seal(keys.publicKey, 'p-1', offer);
  assert.equal(sealed.includes(Buffer.from('1234567.89')), false, 'no price in the envelope');
  const key = openingKey(wrapping, 'p-1', keys.wrappedPrivateKey);
  assert.deepEqual(unseal(key, 'p-1', sealed), offer);
});

test('another procurement, another key or a changed byte does not open it', () => {
  const keys = newProcurementKeys(wrapping, 'p-1');
  const other = newProcurementKeys(wrapping, 'p-2');
  const sealed = seal(keys.publicKey, 'p-1', offer);
  const key = openingKey(wrapping, 'p-1', keys.wrappedPrivateKey);
  assert.throws(() => unseal(key, 'p-2', sealed), refusedWith('sealing.open_failed'));
  const otherKey = openingKey(wrapping, 'p-2', other.wrappedPrivateKey);
  assert.throws(() => unseal(otherKey, 'p-1', sealed), refusedWith('sealing.open_failed'));
  assert.throws(
    () => openingKey(wrapping, 'p-2', keys.wrappedPrivateKey),
    refusedWith('sealing.unwrap_failed'),
    'a wrapped key is bound to its procurement',
  );
  assert.throws(
    () => openingKey(WrappingKey.fromBytes(randomBytes(32)), 'p-1', keys.wrappedPrivateKey),
    refusedWith('sealing.unwrap_failed'),
  );
  fc.assert(
    fc.property(fc.nat({ max: sealed.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, x) => {
      const changed = Buffer.from(sealed);
      changed[at]! ^= x;
      assert.throws(() => unseal(key, 'p-1', changed), UppError);
    }),
    { numRuns: 200 },
  );
});

test('offers sealed in turn to two procurements each open only with their own key', () => {
  const first = newProcurementKeys(wrapping, 'p-1');
  const second = newProcurementKeys(wrapping, 'p-1');
  const firstKey = openingKey(wrapping, 'p-1', first.wrappedPrivateKey);
  const secondKey = openingKey(wrapping, 'p-1', second.wrappedPrivateKey);
  for (let round = 0; round < 3; round += 1) {
    const toFirst = seal(first.publicKey, 'p-1', offer);
    const toSecond = seal(second.publicKey, 'p-1', offer);
    assert.deepEqual(unseal(firstKey, 'p-1', toFirst), offer);
    assert.deepEqual(unseal(secondKey, 'p-1', toSecond), offer);
    assert.throws(() => unseal(secondKey, 'p-1', toFirst), refusedWith('sealing.open_failed'));
    assert.throws(() => unseal(firstKey, 'p-1', toSecond), refusedWith('sealing.open_failed'));
  }
});

test('the wrapping key file is created once, private to its owner, and kept', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'upp-sealing-')), 'keys', 'offer-wrapping.key');
  const first = WrappingKey.fromFile(path);
  const bytes = readFileSync(path);
  assert.equal(bytes.length, 32);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  const keys = newProcurementKeys(first, 'p-3');
  const again = WrappingKey.fromFile(path);
  assert.deepEqual(readFileSync(path), bytes);
  const key = openingKey(again, 'p-3', keys.wrappedPrivateKey);
  assert.deepEqual(unseal(key, 'p-3', seal(keys.publicKey, 'p-3', offer)), offer);
  assert.equal(JSON.stringify({ first }), '{"first":"[WrappingKey]"}');
});
