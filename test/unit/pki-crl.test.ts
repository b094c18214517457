// CRLs: the NCA RK test CRLs against their CAs, full and delta CRLs made with signCrl, and
// fuzzing of the parser.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseCertificate } from '../../src/pki/certificate.js';
import { checkCrl, crlStatus, parseCrl, signCrl, verifyCrl } from '../../src/pki/crl.js';
import { PkiError } from '../../src/pki/errors.js';
import { openPkcs12 } from '../../src/pki/pkcs12.js';
import { ECDSA_SHA256, signer, smallPki } from './pki-test-issuer.js';
import { fuzzParser } from '../support/fuzz.js';

const vectors = new URL('../../../shared/kz-eds-vectors/', import.meta.url);
const read = (path: string) => new Uint8Array(readFileSync(new URL(path, vectors)));
const cert = (path: string) => parseCertificate(read(path));
const JUNE_2022 = new Date('2022-06-01T00:00:00Z');
const codes = (problems: { code: string }[]) => problems.map((problem) => problem.code);

test('the RSA test CRL: issuer, dates, number, entries, signature by its CA', () => {
  const crl = parseCrl(read('crl/nca_rsa_test.crl'));
  const ca = cert('ca/nca_rsa_test.crt');
  assert.equal(crl.issuer.commonName, 'ҰКО 3.0 (RSA TEST)');
  assert.equal(crl.thisUpdate.toISOString(), '2022-03-29T04:18:29.000Z');
  assert.equal(crl.nextUpdate?.toISOString(), '2022-09-25T04:18:29.000Z');
  assert.equal(crl.crlNumber, '9');
  assert.equal(crl.isDelta, false);
  assert.equal(crl.authorityKeyId, ca.subjectKeyId);
  assert.equal(verifyCrl(crl, ca), true);
  assert.deepEqual(checkCrl(crl, ca, JUNE_2022), []);
  assert.deepEqual(codes(checkCrl(crl, ca, new Date('2022-09-28T00:00:00Z'))), ['crl.stale']);
  assert.deepEqual(checkCrl(crl, ca, new Date('2021-01-01T00:00:00Z')), []);
  const held = crlStatus(crl, '474C38696D8677A2C8B6E40345A8B04168C0905C');
  assert.equal(held.status, 'revoked');
  assert.equal(held.reason, 'certificateHold');
  assert.equal(held.revokedAt?.toISOString(), '2021-04-01T06:56:52.000Z');
  assert.equal(crlStatus(crl, '4B779CB5647C4DA7B07327C503EAB1656D716ED8').reason, 'keyCompromise');
});

test('the CRL does not verify against another CA or with a damaged signature', () => {
  const crl = parseCrl(read('crl/nca_rsa_test.crl'));
  assert.deepEqual(codes(checkCrl(crl, cert('ca/root_rsa_test.crt'))), ['crl.wrong_issuer']);
  const damaged = Uint8Array.from(crl.der);
  damaged[damaged.length - 3] = (damaged[damaged.length - 3] as number) ^ 0x55;
  assert.deepEqual(codes(checkCrl(parseCrl(damaged), cert('ca/nca_rsa_test.crt'))), [
    'crl.signature_invalid',
  ]);
});

test('the revoked RSA key stores are listed in the RSA CRL; the valid certificates are not', () => {
  const crl = parseCrl(read('crl/nca_rsa_test.crl'));
  const at = new Date('2022-09-01T00:00:00Z');
  for (const file of ['individual_sign_revoked_2004.p12', 'individual_auth_revoked_2004.p12']) {
    const { certificate } = openPkcs12(read(`p12/ncanode/${file}`), 'Qwerty12');
    assert.equal(crlStatus(crl, certificate.serialHex, at).status, 'revoked', file);
  }
  for (const path of [
    'certs/individual_valid_sign_2004_rsa.cer',
    'certs/individual_valid_sign_2004_rsa_auth.cer',
  ]) {
    assert.equal(crlStatus(crl, cert(path).serialHex, at).status, 'good', path);
  }
  const valid = openPkcs12(read('p12/ncanode/individual_valid_sign_2004_rsa.p12'), 'Qwerty12');
  assert.equal(crlStatus(crl, valid.certificate.serialHex, at).status, 'good');
});

test('the GOST test CRLs parse and name their CAs; the 2015 first head is on hold', () => {
  const gost = parseCrl(read('crl/nca_gost_test.crl'));
  assert.equal(gost.issuer.commonName, 'ҰКО 3.0 (GOST TEST)');
  assert.equal(gost.crlNumber, '7');
  const gost2022 = parseCrl(read('crl/nca_gost2022_test.crl'));
  assert.equal(gost2022.authorityKeyId, cert('ca/nca_gost2022_test.cer').subjectKeyId);
  const ceo = crlStatus(gost2022, '3A90343E720594C55204B19CB9A402422EF0E622');
  assert.equal(ceo.status, 'revoked');
  assert.equal(ceo.reason, 'certificateHold');
});

test('GOST CRLs verify against their GOST CAs', () => {
  const pairs = [
    ['crl/nca_gost_test.crl', 'ca/nca_gost_test.crt'],
    ['crl/nca_gost2022_test.crl', 'ca/nca_gost2022_test.cer'],
  ] as const;
  for (const [crlPath, caPath] of pairs) {
    const crl = parseCrl(read(crlPath));
    assert.equal(verifyCrl(crl, cert(caPath)), true, crlPath);
    assert.equal(verifyCrl(crl, cert('ca/nca_rsa_test.crt')), false);
  }
});

test('signCrl: a full CRL and a delta CRL that lifts a hold and adds a revocation', () => {
  const { ca, caKey, leaf } = smallPki();
  const base = {
    issuer: ca,
    sign: signer(caKey),
    signatureAlgorithm: ECDSA_SHA256,
    thisUpdate: new Date('2024-01-01T00:00:00Z'),
    nextUpdate: new Date('2024-01-08T00:00:00Z'),
  };
  const full = parseCrl(
    signCrl({
      ...base,
      crlNumber: 2n ** 70n,
      revoked: [
        {
          serialHex: leaf.serialHex,
          revokedAt: new Date('2023-12-01T00:00:00Z'),
          reason: 'certificateHold',
        },
        { serialHex: '0a', revokedAt: new Date('2023-11-01T00:00:00Z') },
      ],
    }),
  );
  assert.deepEqual(checkCrl(full, ca, new Date('2024-01-02T00:00:00Z')), []);
  assert.equal(full.crlNumber, (2n ** 70n).toString());
  assert.equal(crlStatus(full, leaf.serialHex).status, 'revoked');
  assert.equal(crlStatus(full, leaf.serialHex, new Date('2023-06-01T00:00:00Z')).status, 'good');
  assert.equal(crlStatus(full, '000A').status, 'revoked');
  assert.equal(crlStatus(full, 'ff').status, 'good');
  const delta = parseCrl(
    signCrl({
      ...base,
      crlNumber: 2n ** 70n + 1n,
      baseCrlNumber: 2n ** 70n,
      revoked: [
        {
          serialHex: leaf.serialHex,
          revokedAt: new Date('2024-01-03T00:00:00Z'),
          reason: 'removeFromCRL',
        },
        { serialHex: 'ff', revokedAt: new Date('2024-01-03T00:00:00Z'), reason: 'keyCompromise' },
      ],
    }),
  );
  assert.equal(delta.isDelta, true);
  assert.deepEqual(checkCrl(delta, ca), []);
  assert.equal(crlStatus(full, leaf.serialHex, undefined, delta).status, 'good');
  assert.equal(crlStatus(full, 'ff', undefined, delta).reason, 'keyCompromise');
  assert.equal(crlStatus(full, '0a', undefined, delta).status, 'revoked');
  assert.throws(
    () => crlStatus(delta, 'ff'),
    (e: unknown) => e instanceof PkiError && e.code === 'crl.delta_without_base',
  );
  const forNewerBase = parseCrl(
    signCrl({ ...base, crlNumber: 2n ** 72n, baseCrlNumber: 2n ** 71n, revoked: [] }),
  );
  assert.throws(
    () => crlStatus(full, 'ff', undefined, forNewerBase),
    (e: unknown) => e instanceof PkiError && e.code === 'crl.delta_mismatch',
  );
});

test('fuzz: random bytes and mutated CRLs only ever raise PkiError', () => {
  const seeds = ['crl/nca_rsa_test.crl', 'crl/nca_gost_test.crl', 'crl/nca_gost2022_test.crl'].map(
    read,
  );
  const ca = cert('ca/nca_rsa_test.crt');
  const check = (input: Uint8Array): void => {
    const crl = parseCrl(input);
    checkCrl(crl, ca, JUNE_2022);
    crlStatus(crl.isDelta ? parseCrl(seeds[0] as Uint8Array) : crl, 'ab');
  };
  fuzzParser('crl', seeds, [check], { random: 400, randomMaxLength: 1024, mutated: 600 });
});
