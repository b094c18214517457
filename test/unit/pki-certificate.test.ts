// Certificate parsing against the NCA RK test material, plus fuzzing of the parser.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseCertificate } from '../../src/pki/certificate.js';
import { toDer, toPem } from '../../src/pki/pem.js';
import { PkiError } from '../../src/pki/errors.js';
import { fuzzParser } from '../support/fuzz.js';

const vectors = new URL('../../../shared/kz-eds-vectors/', import.meta.url);
const read = (path: string): Uint8Array => new Uint8Array(readFileSync(new URL(path, vectors)));

test('individual RSA signing certificate: serial, names, dates, extensions', () => {
  const cert = parseCertificate(read('certs/individual_valid_sign_2004_rsa.cer'));
  assert.equal(cert.serialHex, '41e45cc8a04c705963e5cd6769848a934d8eaef5');
  assert.equal(cert.subject.commonName, 'ТЕСТОВ ТЕСТ');
  assert.equal(cert.issuer.commonName, 'ҰКО 3.0 (RSA TEST)');
  assert.equal(cert.notBefore.toISOString(), '2022-01-18T04:38:50.000Z');
  assert.equal(cert.notAfter.toISOString(), '2023-01-18T04:38:50.000Z');
  assert.equal(cert.isCa, false);
  assert.deepEqual(cert.keyUsage.sort(), ['digitalSignature', 'nonRepudiation']);
  assert.deepEqual(cert.extKeyUsage, ['1.3.6.1.5.5.7.3.4', '1.2.398.3.3.4.1.1']);
  assert.deepEqual(cert.policies, ['1.2.398.3.3.2.3']);
  assert.equal(cert.authorityKeyId, 'a68c16337cb8e83567063e5e415755a2af345068');
  assert.equal(cert.subjectKeyId, 'a4f5a1ff8f55aba59bb244a255d4a5a980dd068b');
  assert.deepEqual(cert.crlUrls, ['http://test.pki.gov.kz/crl/nca_rsa_test.crl']);
  assert.deepEqual(cert.ocspUrls, ['http://test.pki.gov.kz/ocsp/']);
  assert.deepEqual(cert.caIssuerUrls, ['http://test.pki.gov.kz/cert/nca_rsa_test.cer']);
  assert.equal(cert.signatureAlgorithm, 'rsa-pkcs1-sha256');
  assert.equal(cert.selfIssued, false);
  assert.deepEqual(cert.unhandledCriticalExtensions, []);
});

test('the same certificate from PEM, DER and bare base64 gives the same fingerprint', () => {
  const pem = readFileSync(new URL('certs/individual_valid_sign_2004_rsa.cer', vectors), 'utf8');
  const der = toDer(pem);
  const fromPem = parseCertificate(pem);
  const fromDer = parseCertificate(der);
  const fromBase64 = parseCertificate(Buffer.from(der).toString('base64'));
  assert.equal(fromPem.fingerprintSha256, fromDer.fingerprintSha256);
  assert.equal(fromBase64.fingerprintSha256, fromDer.fingerprintSha256);
  assert.equal(
    parseCertificate(toPem(der, 'CERTIFICATE')).fingerprintSha256,
    fromDer.fingerprintSha256,
  );
  assert.match(fromDer.fingerprintSha256, /^[0-9a-f]{64}$/);
});

test('CA certificates: basic constraints, key usage, self-issued roots', () => {
  const root = parseCertificate(read('ca/root_rsa_test.crt'));
  const issuing = parseCertificate(read('ca/nca_rsa_test.crt'));
  assert.equal(root.isCa, true);
  assert.equal(root.selfIssued, true);
  assert.ok(root.keyUsage.includes('keyCertSign'));
  assert.equal(issuing.isCa, true);
  assert.equal(issuing.selfIssued, false);
  assert.equal(issuing.authorityKeyId, root.subjectKeyId);
  assert.deepEqual(issuing.issuerDer, root.subjectDer);
  const gostRoot = parseCertificate(read('ca/root_test_gost_2022.cer'));
  assert.equal(gostRoot.signatureAlgorithm, 'gost2015-512');
  assert.equal(gostRoot.profile.algorithm, 'gost2015-512');
  assert.equal(parseCertificate(read('ca/root_gost_test.crt')).signatureAlgorithm, 'gost2004');
});

test('a CRL address packed with a second one in a production CA is split into two URLs', () => {
  const cert = parseCertificate(read('ca/prod-2015-2018/nca_rsa.crt'));
  assert.deepEqual(cert.crlUrls, [
    'http://crl.root.gov.kz/rsa.crl',
    'http://crl1.root.gov.kz/rsa.crl',
  ]);
});

test('malformed input gives cert.malformed', () => {
  const der = read('certs/individual_valid_sign_2004_rsa_auth.cer');
  const bad: (Uint8Array | string)[] = [
    new Uint8Array(0),
    '',
    'not a certificate',
    '-----BEGIN CERTIFICATE-----\nMIIB\n',
    toDer(Buffer.from(der).toString('latin1')).subarray(0, 100),
    Uint8Array.of(0x30, 0x80, 0, 0),
    Uint8Array.of(0x30, 0x84, 0xff, 0xff, 0xff, 0xff),
    read('crl/nca_rsa_test.crl'),
  ];
  for (const input of bad) {
    assert.throws(
      () => parseCertificate(input),
      (error: unknown) => error instanceof PkiError && error.code === 'cert.malformed',
    );
  }
});

test('fuzz: random bytes and mutated certificates only ever raise PkiError', () => {
  const seeds = [
    'certs/individual_valid_sign_2004_rsa.cer',
    'certs/ceo_valid_sign_2004_gost.cer',
    'ca/nca_gost2022_test.cer',
    'ca/root_rsa_test.crt',
  ].map((path) => toDer(read(path)));
  fuzzParser('certificate', seeds, [parseCertificate], {
    random: 500,
    randomMaxLength: 2048,
    mutated: 1500,
  });
});
