// The BER reader and DER writer under the CMS code: round trips of integers, object identifiers,
// times and strings, BER forms (indefinite lengths, segmented octet strings), and limits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  decodeBer,
  der,
  readInteger,
  readOctets,
  readOid,
  readString,
  readTime,
} from '../../src/pki/ber.js';
import { PkiError } from '../../src/pki/errors.js';

const C = 'test.malformed';

test('integers round-trip, negative and beyond 64 bits', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: -(1n << 200n), max: 1n << 200n }), (n) => {
      assert.equal(readInteger(decodeBer(der.integer(n), C), C), n);
    }),
    { numRuns: 300 },
  );
  assert.deepEqual([...der.integer(128)], [0x02, 0x02, 0x00, 0x80]);
  assert.deepEqual([...der.integer(-129)], [0x02, 0x02, 0xff, 0x7f]);
  assert.deepEqual([...der.unsignedInteger(Uint8Array.of(0, 0, 0x80))], [0x02, 0x02, 0x00, 0x80]);
});

test('object identifiers round-trip, including large arcs', () => {
  const arc = fc.bigInt({ min: 0n, max: (1n << 40n) - 1n });
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 2 }),
      fc.integer({ min: 0, max: 39 }),
      fc.array(arc),
      (a, b, rest) => {
        const oid = [a, b, ...rest].join('.');
        assert.equal(readOid(decodeBer(der.oid(oid), C), C), oid);
      },
    ),
    { numRuns: 300 },
  );
  assert.equal(
    Buffer.from(der.oid('1.2.840.113549.1.7.2')).toString('hex'),
    '06092a864886f70d010702',
  );
});

test('UTCTime and GeneralizedTime round-trip to the second (and millisecond)', () => {
  const date = fc.date({
    min: new Date('1950-01-01T00:00:00Z'),
    max: new Date('2200-01-01T00:00:00Z'),
    noInvalidDate: true,
  });
  fc.assert(
    fc.property(date, (d) => {
      const seconds = new Date(Math.floor(d.getTime() / 1000) * 1000);
      assert.equal(readTime(decodeBer(der.time(seconds), C), C).getTime(), seconds.getTime());
      assert.equal(readTime(decodeBer(der.generalizedTime(d, true), C), C).getTime(), d.getTime());
    }),
    { numRuns: 300 },
  );
  assert.equal(
    Buffer.from(der.utcTime(new Date('2049-12-31T23:59:59Z')))
      .toString('latin1')
      .slice(2),
    '491231235959Z',
  );
  assert.throws(() => readTime(decodeBer(Uint8Array.of(0x17, 2, 0x31, 0x32), C), C), PkiError);
});

test('strings in UTF-8, BMP and Printable forms read back', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary-ascii' }), fc.string(), (ascii, text) => {
      assert.equal(readString(decodeBer(der.utf8(text), C), C), text);
      assert.equal(readString(decodeBer(der.ia5(ascii), C), C), ascii);
    }),
    { numRuns: 200 },
  );
  assert.equal(readString(decodeBer(der.bmp('ҰЛТТЫҚ'), C), C), 'ҰЛТТЫҚ');
});

test('BER indefinite lengths and segmented OCTET STRINGs are read, bytes kept exactly', () => {
  // SEQUENCE (indefinite) { OCTET STRING (constructed, indefinite) { "ab", "cd" } }
  const ber = Buffer.from('3080248004026162040263640000' + '0000', 'hex');
  const node = decodeBer(ber, C);
  assert.ok(Buffer.from(node.bytes).equals(ber));
  assert.equal(Buffer.from(readOctets(node.children[0], C)).toString(), 'abcd');
});

test('truncation, runaway lengths, deep nesting and trailing bytes are refused', () => {
  const cases = ['30', '3005020101', '3084ffffffff', '3080020101', '0480', '1f', '300302010100'];
  for (const hex of cases) {
    assert.throws(
      () => decodeBer(Buffer.from(hex, 'hex'), C),
      (e: unknown) => e instanceof PkiError && e.code === C,
      hex,
    );
  }
  const deep = Buffer.alloc(200);
  for (let i = 0; i < 200; i += 2) deep.set([0x30, 0x80], i);
  assert.throws(() => decodeBer(deep, C), /too deep/);
});
