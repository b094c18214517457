// Property tests of the DER and PEM layer under certificates: encodings read back to the same
// values, and PEM/base64/DER inputs all give the same bytes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  decodeOid,
  decodeTime,
  decodeUnsigned,
  encodeGeneralizedTime,
  encodeInteger,
  encodeOid,
  encodeSequence,
  encodeTime,
  integerHex,
  normalSerialHex,
  readTlv,
  contentBytes,
} from '../../src/pki/der.js';
import { PkiError } from '../../src/pki/errors.js';
import { toDer, toPem } from '../../src/pki/pem.js';

const oidArb = fc
  .tuple(
    fc.integer({ min: 0, max: 2 }),
    fc.integer({ min: 0, max: 39 }),
    fc.array(fc.bigInt({ min: 0n, max: 2n ** 64n }), { maxLength: 8 }),
  )
  .map(([a, b, rest]) => [a, b, ...rest].join('.'));

test('OIDs encode and decode to themselves; known encodings match X.690 examples', () => {
  fc.assert(
    fc.property(oidArb, (oid) => {
      const der = encodeOid(oid);
      const tlv = readTlv(der);
      assert.equal(decodeOid(contentBytes(der, tlv)), oid);
    }),
    { numRuns: 300 },
  );
  assert.equal(Buffer.from(encodeOid('1.2.840.113549')).toString('hex'), '06062a864886f70d');
});

test('serial numbers survive INTEGER encoding in the integerHex form', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 20 }), (bytes) => {
      const hex = Buffer.from(bytes).toString('hex');
      const der = encodeInteger(hex);
      const tlv = readTlv(der);
      const content = contentBytes(der, tlv);
      assert.equal((content[0] as number) & 0x80, 0);
      assert.equal(integerHex(content), normalSerialHex(hex));
      assert.equal(decodeUnsigned(der, tlv), BigInt(`0x${hex}`));
    }),
    { numRuns: 300 },
  );
  assert.equal(normalSerialHex('00:0F:F0'), '0ff0');
  assert.equal(normalSerialHex('000'), '00');
});

test('times encode and decode to whole seconds, UTCTime up to 2049', () => {
  const dateArb = fc.date({
    min: new Date('1950-01-01T00:00:00Z'),
    max: new Date('9999-12-31T23:59:59Z'),
    noInvalidDate: true,
  });
  fc.assert(
    fc.property(dateArb, (date) => {
      const whole = new Date(Math.floor(date.getTime() / 1000) * 1000);
      for (const der of [encodeTime(whole), encodeGeneralizedTime(whole)]) {
        assert.deepEqual(decodeTime(der, readTlv(der)), whole);
      }
      assert.equal(encodeTime(whole)[0] === 0x17, whole.getUTCFullYear() < 2050);
    }),
    { numRuns: 300 },
  );
  const bad = Uint8Array.from([0x17, 0x0d, ...Buffer.from('220230000000Z')]);
  assert.throws(() => decodeTime(bad, readTlv(bad)), PkiError);
});

test('DER, PEM and bare base64 of any SEQUENCE give the same bytes', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 300 }),
      fc.constantFrom('CERTIFICATE', 'X509 CRL'),
      (body, label) => {
        const der = encodeSequence(body);
        assert.deepEqual(toDer(der), der);
        assert.deepEqual(toDer(toPem(der, label)), der);
        assert.deepEqual(toDer(toPem(der, label), label), der);
        assert.deepEqual(toDer(Buffer.from(der).toString('base64')), der);
      },
    ),
    { numRuns: 200 },
  );
});

test('truncated or oversized lengths are refused with the caller code', () => {
  const cases = [
    Uint8Array.of(0x30),
    Uint8Array.of(0x30, 0x05, 1, 2),
    Uint8Array.of(0x30, 0x85, 1, 1, 1, 1, 1),
    Uint8Array.of(0x1f, 0x01, 0x00),
  ];
  for (const bytes of cases) {
    assert.throws(
      () => readTlv(bytes, 0, bytes.length, 'cert.malformed'),
      (e: unknown) => e instanceof PkiError && e.code === 'cert.malformed',
    );
  }
  assert.throws(
    () => toDer('-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----'),
    PkiError,
  );
  assert.throws(() => toDer(toPem(Uint8Array.of(0x30, 0), 'CERTIFICATE'), 'X509 CRL'), PkiError);
});
