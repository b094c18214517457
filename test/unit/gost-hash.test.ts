// Streebog (RFC 6986) and GOST R 34.11-94 (RFC 5831) against published vectors, plus checks that
// incremental hashing agrees with one-shot hashing however the input is split.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Streebog, streebog } from '../../src/pki/gost/streebog.js';
import { CRYPTOPRO_SBOX, Gost94, TEST_SBOX, gost94 } from '../../src/pki/gost/gost94.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);
/** RFC 6986 and RFC 5831 print vectors as big-endian numbers: the reverse of the byte string. */
const fromNumberHex = (value: string): Uint8Array => Buffer.from(value, 'hex').reverse();

// RFC 6986, 10.1: M1 is the 63 ASCII digits "0123...012".
const M1 = ascii('012345678901234567890123456789012345678901234567890123456789012');
// RFC 6986, 10.2: M2 is 72 bytes of Cyrillic text in windows-1251.
const M2 = fromNumberHex(
  'fbe2e5f0eee3c820fbeafaebef20fffbf0e1e0f0f520e0ed20e8ece0ebe5f0f2f120fff0eeec20f120faf2fee5e2' +
    '202ce8f6f3ede220e8e6eee1e8f0f2d1202ce8f0f2e5e220e5d1',
);

test('Streebog-512 of RFC 6986 M1 and M2', () => {
  assert.equal(
    hex(streebog(512, M1)),
    hex(
      fromNumberHex(
        '486f64c1917879417fef082b3381a4e211c324f074654c38823a7b76f830ad00' +
          'fa1fbae42b1285c0352f227524bc9ab16254288dd6863dccd5b9f54a1ad0541b',
      ),
    ),
  );
  assert.equal(
    hex(streebog(512, M2)),
    hex(
      fromNumberHex(
        '28fbc9bada033b1460642bdcddb90c3fb3e56c497ccd0f62b8a2ad4935e85f03' +
          '7613966de4ee00531ae60f3b5a47f8dae06915d5f2f194996fcabf2622e6881e',
      ),
    ),
  );
});

test('Streebog-256 of RFC 6986 M1 and M2', () => {
  assert.equal(
    hex(streebog(256, M1)),
    hex(fromNumberHex('00557be5e584fd52a449b16b0251d05d27f94ab76cbaa6da890b59d8ef1e159d')),
  );
  assert.equal(
    hex(streebog(256, M2)),
    hex(fromNumberHex('508f7e553c06501d749a66fc28c6cac0b005746d97537fa85d9e40904efed29d')),
  );
});

test('Streebog of the empty string and of multi-block inputs', () => {
  // Widely published digests of "" (byte-string order, as printed by OpenSSL's gost engine).
  assert.equal(
    hex(streebog(512, new Uint8Array(0))),
    '8e945da209aa869f0455928529bcae4679e9873ab707b55315f56ceb98bef0a7' +
      '362f715528356ee83cda5f2aac4c6ad2ba3a715c1bcd81cb8e9f90bf4c1c1a8a',
  );
  assert.equal(
    hex(streebog(256, new Uint8Array(0))),
    '3f539a213e97c802cc229d474c6aa32a825a360b2a933a949fd925208d9ce1bb',
  );
  // M1 || M1 || ... crosses block boundaries at every offset the 63-byte period allows.
  const long = new Uint8Array(63 * 9);
  for (let i = 0; i < 9; i++) long.set(M1, 63 * i);
  const oneShot = streebog(512, long);
  const split = new Streebog(512);
  for (let i = 0; i < long.length; i += 17) split.update(long.subarray(i, i + 17));
  assert.equal(hex(split.digest()), hex(oneShot));
  // An exact multiple of the block size still ends with a padding-only block.
  assert.notEqual(hex(streebog(512, new Uint8Array(64))), hex(streebog(512, new Uint8Array(65))));
});

test('Streebog incremental hashing equals one-shot for any split', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 300 }),
      fc.array(fc.nat(300), { maxLength: 6 }),
      fc.constantFrom<256 | 512>(256, 512),
      (data, cuts, size) => {
        const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
        const hasher = new Streebog(size);
        let from = 0;
        for (const p of [...points, data.length]) {
          hasher.update(data.subarray(from, p));
          from = p;
        }
        assert.equal(hex(hasher.digest()), hex(streebog(size, data)));
      },
    ),
    { numRuns: 100 },
  );
});

// GOST R 34.11-94 with the test parameter set: RFC 5831, 7.3.1 (32- and 50-byte messages) and
// the widely published "", "abc", "message digest" and pangram vectors.
const TEST_PARAM_VECTORS: [string, string][] = [
  ['', 'ce85b99cc46752fffee35cab9a7b0278abb4c2d2055cff685af4912c49490f8d'],
  ['abc', 'f3134348c44fb1b2a277729e2285ebb5cb5e0f29c975bc753b70497c06a4d51d'],
  ['message digest', 'ad4434ecb18f2c99b60cbe59ec3d2469582b65273f48de72db2fde16a4889a4d'],
  [
    'This is message, length=32 bytes',
    'b1c466d37519b82e8319819ff32595e047a28cb6f83eff1c6916a815a637fffa',
  ],
  [
    'Suppose the original message has length = 50 bytes',
    '471aba57a60a770d3a76130635c1fbea4ef14de51f78b4ae57dd893b62f55208',
  ],
  [
    'The quick brown fox jumps over the lazy dog',
    '77b7fa410c9ac58a25f49bca7d0468c9296529315eaca76bd1a10f376d1f4294',
  ],
];

const CRYPTOPRO_VECTORS: [string, string][] = [
  ['', '981e5f3ca30c841487830f84fb433e13ac1101569b9c13584ac483234cd656c0'],
  ['abc', 'b285056dbf18d7392d7677369524dd14747459ed8143997e163b2986f92fd42c'],
  ['message digest', 'bc6041dd2aa401ebfa6e9886734174febdb4729aa972d60f549ac39b29721ba0'],
  [
    'The quick brown fox jumps over the lazy dog',
    '9004294a361a508c586fe53d1f1b02746765e71b765472786e4770d565830a76',
  ],
];

test('GOST R 34.11-94 with the test parameter set', () => {
  for (const [message, digest] of TEST_PARAM_VECTORS) {
    assert.equal(hex(gost94(TEST_SBOX, ascii(message))), digest, JSON.stringify(message));
  }
  // RFC 5831 prints the 32-byte example's digest as a big-endian number.
  assert.equal(
    hex(gost94(TEST_SBOX, ascii('This is message, length=32 bytes'))),
    hex(fromNumberHex('faff37a615a816691cff3ef8b68ca247e09525f39f8119832eb81975d366c4b1')),
  );
});

test('GOST R 34.11-94 with the CryptoPro parameter set', () => {
  for (const [message, digest] of CRYPTOPRO_VECTORS) {
    assert.equal(hex(gost94(CRYPTOPRO_SBOX, ascii(message))), digest, JSON.stringify(message));
  }
});

test('GOST R 34.11-94 of long inputs (128 x "U", 1,000,000 x "a"), both parameter sets', () => {
  const u128 = new Uint8Array(128).fill(0x55);
  const aMillion = new Uint8Array(1_000_000).fill(0x61);
  assert.equal(
    hex(gost94(TEST_SBOX, u128)),
    '53a3a3ed25180cef0c1d85a074273e551c25660a87062a52d926a9e8fe5733a4',
  );
  assert.equal(
    hex(gost94(TEST_SBOX, aMillion)),
    '5c00ccc2734cdd3332d3d4749576e3c1a7dbaf0e7ea74e9fa602413c90a129fa',
  );
  assert.equal(
    hex(gost94(CRYPTOPRO_SBOX, u128)),
    '1c4ac7614691bbf427fa2316216be8f10d92edfd37cd1027514c1008f649c4e8',
  );
  assert.equal(
    hex(gost94(CRYPTOPRO_SBOX, aMillion)),
    '8693287aa62f9478f7cb312ec0866b6c4e4a0f11160441e8f4ffcd2715dd554f',
  );
});

test('GOST R 34.11-94 incremental hashing equals one-shot for any split', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(200), (data, cut) => {
      const at = cut % (data.length + 1);
      const hasher = new Gost94(TEST_SBOX);
      hasher.update(data.subarray(0, at));
      hasher.update(data.subarray(at));
      assert.equal(hex(hasher.digest()), hex(gost94(TEST_SBOX, data)));
    }),
    { numRuns: 60 },
  );
});

test('Streebog hashers interleaved, and inputs larger than the engine buffer', () => {
  const big = new Uint8Array(150_000).map((_, i) => (i * 7 + (i >> 9)) & 0xff);
  const a = new Streebog(512);
  const b = new Streebog(256);
  for (let i = 0; i < big.length; i += 10_007) {
    a.update(big.subarray(i, i + 10_007));
    b.update(big.subarray(i, i + 10_007));
  }
  assert.equal(hex(a.digest()), hex(streebog(512, big)));
  assert.equal(hex(b.digest()), hex(streebog(256, big)));
  // Chunks of M1 through an interleaved hasher give RFC 6986's M1 digest.
  const c = new Streebog(512);
  const d = new Streebog(512);
  d.update(M2);
  for (let i = 0; i < M1.length; i += 7) c.update(M1.subarray(i, i + 7));
  assert.equal(hex(c.digest()), hex(streebog(512, M1)));
  assert.equal(hex(d.digest()), hex(streebog(512, M2)));
});
