// The NCA RK profile read from the test certificates: identity numbers, key purpose and roles.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseCertificate } from '../../src/pki/certificate.js';
import { readNcaProfile, ROLE_OIDS } from '../../src/pki/profile.js';

const vectors = new URL('../../../shared/kz-eds-vectors/', import.meta.url);
const cert = (path: string) => parseCertificate(readFileSync(new URL(path, vectors)));

test('individual signing RSA certificate: IIN, purpose sign, role individual', () => {
  const { profile } = cert('certs/individual_valid_sign_2004_rsa.cer');
  assert.equal(profile.iin, '123456789011');
  assert.equal(profile.bin, undefined);
  assert.equal(profile.keyPurpose, 'sign');
  assert.deepEqual(profile.roles, ['individual']);
  assert.equal(profile.algorithm, 'rsa');
  assert.equal(profile.surname, 'ТЕСТОВ');
  assert.equal(profile.givenName, 'ТЕСТОВИЧ');
  assert.equal(profile.commonName, 'ТЕСТОВ ТЕСТ');
  assert.equal(profile.country, 'KZ');
  assert.deepEqual(profile.policies, ['1.2.398.3.3.2.3']);
});

test('authentication certificate of the same person has key purpose auth', () => {
  const { profile } = cert('certs/individual_valid_sign_2004_rsa_auth.cer');
  assert.equal(profile.keyPurpose, 'auth');
  assert.equal(profile.iin, '123456789011');
  assert.deepEqual(profile.roles, ['individual']);
});

test('first head GOST 2004 certificate: BIN, organisation, legal entity + first head', () => {
  const { profile } = cert('certs/ceo_valid_sign_2004_gost.cer');
  assert.equal(profile.bin, '123456789021');
  assert.equal(profile.iin, '123456789011');
  assert.equal(profile.organization, 'АО "ТЕСТ"');
  assert.equal(profile.keyPurpose, 'sign');
  assert.deepEqual(profile.roles, ['legal_entity', 'first_head']);
  assert.equal(profile.algorithm, 'gost2004');
});

test('CA certificates carry no person profile', () => {
  const { profile } = cert('ca/nca_rsa_test.crt');
  assert.equal(profile.keyPurpose, 'unknown');
  assert.deepEqual(profile.roles, []);
  assert.equal(profile.iin, undefined);
});

test('every role OID maps to its role; both purposes at once is not a clear purpose', () => {
  const base = cert('certs/ceo_valid_sign_2004_gost.cer');
  for (const [oid, role] of Object.entries(ROLE_OIDS)) {
    const profile = readNcaProfile({ ...base, extKeyUsage: [oid] });
    assert.deepEqual(profile.roles, [role]);
  }
  const both = readNcaProfile({ ...base, extKeyUsage: ['1.3.6.1.5.5.7.3.4', '1.3.6.1.5.5.7.3.2'] });
  assert.equal(both.keyPurpose, 'unknown');
});

test('IIN and BIN must be prefixed 12-digit values', () => {
  const base = cert('certs/ceo_valid_sign_2004_gost.cer');
  const subject = {
    ...base.subject,
    attributes: [
      { oid: '2.5.4.5', value: 'IIN12345678901' },
      { oid: '2.5.4.11', value: 'XBIN123456789021' },
    ],
  };
  const profile = readNcaProfile({ ...base, subject });
  assert.equal(profile.iin, undefined);
  assert.equal(profile.bin, undefined);
});
