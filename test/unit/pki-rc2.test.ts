// RC2 (RFC 2268): the test vectors of section 5, and CBC round trips with fast-check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  rc2CbcDecrypt,
  rc2CbcEncrypt,
  rc2DecryptBlock,
  rc2EncryptBlock,
  rc2ExpandKey,
} from '../../src/pki/rc2.js';
import { PkiError } from '../../src/pki/errors.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

// [key, effective key bits, plaintext, ciphertext] from RFC 2268 section 5.
const VECTORS: [string, number, string, string][] = [
  ['0000000000000000', 63, '0000000000000000', 'ebb773f993278eff'],
  ['ffffffffffffffff', 64, 'ffffffffffffffff', '278b27e42e2f0d49'],
  ['3000000000000000', 64, '1000000000000001', '30649edf9be7d2c2'],
  ['88', 64, '0000000000000000', '61a8a244adacccf0'],
  ['88bca90e90875a', 64, '0000000000000000', '6ccf4308974c267f'],
  ['88bca90e90875a7f0f79c384627bafb2', 64, '0000000000000000', '1a807d272bbe5db1'],
  ['88bca90e90875a7f0f79c384627bafb2', 128, '0000000000000000', '2269552ab0f85ca6'],
  [
    '88bca90e90875a7f0f79c384627bafb216f80a6f85920584c42fceb0be255daf1e',
    129,
    '0000000000000000',
    '5b78d3a43dfff1f1',
  ],
];

for (const [key, bits, plain, cipher] of VECTORS) {
  test(`RFC 2268 vector key=${key.slice(0, 16)} bits=${bits}`, () => {
    const K = rc2ExpandKey(hex(key), bits);
    const out = new Uint8Array(8);
    rc2EncryptBlock(K, hex(plain), out);
    assert.equal(toHex(out), cipher);
    const back = new Uint8Array(8);
    rc2DecryptBlock(K, out, back);
    assert.equal(toHex(back), plain);
  });
}

test('RC2-CBC decrypts what it encrypts, for any key, IV and message', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 1, maxLength: 16 }),
      fc.integer({ min: 8, max: 128 }),
      fc.uint8Array({ minLength: 8, maxLength: 8 }),
      fc.uint8Array({ maxLength: 64 }),
      (key, bits, iv, message) => {
        const sealed = rc2CbcEncrypt(key, bits, iv, message);
        assert.equal(sealed.length % 8, 0);
        assert.deepEqual(rc2CbcDecrypt(key, bits, iv, sealed), message);
      },
    ),
    { numRuns: 200 },
  );
});

test('RC2-CBC refuses bad lengths and bad padding with a PkiError', () => {
  const iv = new Uint8Array(8);
  assert.throws(() => rc2CbcDecrypt(hex('0102030405'), 40, iv, new Uint8Array(7)), PkiError);
  const sealed = rc2CbcEncrypt(hex('0102030405'), 40, iv, hex('00'));
  sealed[7] = (sealed[7] as number) ^ 0xff;
  assert.throws(() => rc2CbcDecrypt(hex('0102030405'), 40, iv, sealed), PkiError);
  assert.throws(() => rc2ExpandKey(new Uint8Array(0), 40), PkiError);
});
