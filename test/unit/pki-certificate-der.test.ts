// Property tests of the DER and PEM layer under certificates: encodings read back to the same
// values, the strict DER walk refuses BER forms, and PEM/base64/DER inputs give the same bytes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  decodeBer,
  der,
  integerHex,
  normalSerialHex,
  readDer,
  readInteger,
  readOid,
  readTime,
} from '../../src/pki/ber.js';
import { parseCertificate } from '../../src/pki/certificate.js';
import { parseCrl } from '../../src/pki/crl.js';
import { PkiError } from '../../src/pki/errors.js';
import { parseOcspResponse } from '../../src/pki/ocsp.js';
import { toDer, toPem } from '../../src/pki/pem.js';

const C = 'der.malformed';

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
      assert.equal(readOid(readDer(der.oid(oid), C), C), oid);
    }),
    { numRuns: 300 },
  );
  assert.equal(Buffer.from(der.oid('1.2.840.113549')).toString('hex'), '06062a864886f70d');
});

test('serial numbers survive INTEGER encoding in the integerHex form', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 20 }), (bytes) => {
      const hex = Buffer.from(bytes).toString('hex');
      const node = readDer(der.serial(hex), C);
      assert.equal((node.value[0] as number) & 0x80, 0);
      assert.equal(integerHex(node.value), normalSerialHex(hex));
      assert.equal(readInteger(node, C), BigInt(`0x${hex}`));
    }),
    { numRuns: 300 },
  );
  assert.equal(normalSerialHex('00:0F:F0'), '0ff0');
  assert.equal(normalSerialHex('000'), '00');
  assert.deepEqual([...der.serial('abc')], [0x02, 0x02, 0x0a, 0xbc]);
});

test('times encode and decode to whole seconds, UTCTime from 1950 up to 2049', () => {
  const dateArb = fc.date({
    min: new Date('1950-01-01T00:00:00Z'),
    max: new Date('9999-12-31T23:59:59Z'),
    noInvalidDate: true,
  });
  fc.assert(
    fc.property(dateArb, (date) => {
      const whole = new Date(Math.floor(date.getTime() / 1000) * 1000);
      for (const encoded of [der.time(whole), der.generalizedTime(whole)]) {
        assert.deepEqual(readTime(readDer(encoded, C), C, { strict: true }), whole);
      }
      assert.equal(der.time(whole)[0] === 0x17, whole.getUTCFullYear() < 2050);
    }),
    { numRuns: 300 },
  );
  const before1950 = new Date('1949-12-31T23:59:59Z');
  assert.equal(der.time(before1950)[0], 0x18);
  assert.deepEqual(readTime(readDer(der.time(before1950), C), C), before1950);
  const bad = Uint8Array.from([0x17, 0x0d, ...Buffer.from('220230000000Z')]);
  assert.throws(() => readTime(readDer(bad, C), C, { strict: true }), PkiError);
  const noSeconds = Uint8Array.from([0x17, 0x0b, ...Buffer.from('2202010000Z')]);
  assert.throws(() => readTime(readDer(noSeconds, C), C, { strict: true }), PkiError);
  assert.deepEqual(readTime(readDer(noSeconds, C), C), new Date('2022-02-01T00:00:00Z'));
});

test('DER, PEM and bare base64 of any SEQUENCE give the same bytes', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 300 }),
      fc.constantFrom('CERTIFICATE', 'X509 CRL'),
      (body, label) => {
        const encoded = der.sequence(body);
        assert.deepEqual(toDer(encoded), encoded);
        assert.deepEqual(toDer(toPem(encoded, label)), encoded);
        assert.deepEqual(toDer(toPem(encoded, label), label), encoded);
        assert.deepEqual(toDer(Buffer.from(encoded).toString('base64')), encoded);
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
      () => readDer(bytes, 'cert.malformed'),
      (e: unknown) => e instanceof PkiError && e.code === 'cert.malformed',
    );
  }
  assert.throws(
    () => toDer('-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----'),
    PkiError,
  );
  assert.throws(() => toDer(toPem(Uint8Array.of(0x30, 0), 'CERTIFICATE'), 'X509 CRL'), PkiError);
});

test('the strict DER walk refuses indefinite lengths that the BER reader accepts', () => {
  const indefinite = Buffer.from('30800201010000', 'hex');
  assert.equal(readInteger(decodeBer(indefinite, C).children[0], C), 1n);
  assert.throws(
    () => readDer(indefinite, C),
    (e: unknown) => e instanceof PkiError && e.code === C && /indefinite/.test(e.message),
  );
  const checks: [(input: Uint8Array) => unknown, string][] = [
    [parseCertificate, 'cert.malformed'],
    [parseCrl, 'crl.malformed'],
    [parseOcspResponse, 'ocsp.malformed'],
  ];
  for (const [parse, code] of checks) {
    assert.throws(
      () => parse(indefinite),
      (e: unknown) => e instanceof PkiError && e.code === code,
    );
  }
});

test('the DER walk reads only what it visits: a list past the BER node limit is walked', () => {
  const count = 250_000;
  const body = new Uint8Array(count * 2);
  for (let i = 0; i < count; i++) body.set([0x05, 0x00], i * 2);
  const list = der.sequence(body);
  assert.throws(
    () => decodeBer(list, C),
    (e: unknown) => e instanceof PkiError && /too many/.test(e.message),
  );
  assert.equal(readDer(list, C).children.length, count);
  const damaged = der.sequence(der.null(), der.sequence(Uint8Array.of(0x30, 0x80, 0, 0)));
  assert.equal(readDer(damaged, C).children.length, 2);
  assert.throws(() => readDer(damaged, C).children[1]?.children, PkiError);
});
