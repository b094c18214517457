// PKCS#12: opens the NCA RK test key stores (legacy 3DES/RC2 PBE, SHA-1 MAC) and round-trips
// the stores the demo CA writes, including through the openssl command when it is installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicKey } from 'node:crypto';
import { createPkcs12, openPkcs12 } from '../../src/pki/pkcs12.js';
import { pkcs12Kdf, pkcs12Password, KDF_ID } from '../../src/pki/pbe.js';
import {
  privateKeyFromPkcs8,
  privateKeyMatches,
  privateKeyToPkcs8,
  subjectPublicKeyInfo,
} from '../../src/pki/keys.js';
import { PkiError } from '../../src/pki/errors.js';

const P12 = new URL('../../../shared/kz-eds-vectors/p12/ncanode/', import.meta.url);
const read = (name: string) => new Uint8Array(readFileSync(new URL(name, P12)));

const STORES = [
  { file: 'individual_valid_sign_2004_rsa.p12', password: 'Qwerty12', algorithm: 'rsa' },
  { file: 'individual_sign_revoked_2004.p12', password: 'Qwerty12', algorithm: 'rsa' },
  { file: 'individual_auth_revoked_2004.p12', password: 'Qwerty12', algorithm: 'rsa' },
  { file: 'ceo_sign_revoked_2004.p12', password: 'Qwerty12', algorithm: 'gost2004' },
  { file: 'individual_valid_2015_gost2015.p12', password: 'Aa123456', algorithm: 'gost2015-512' },
  { file: 'ceo_revoked_2015.p12', password: 'Aa123456', algorithm: 'gost2015-512' },
] as const;

for (const store of STORES) {
  test(`opens ${store.file} and pairs the key with its certificate`, () => {
    const opened = openPkcs12(read(store.file), store.password);
    assert.equal(opened.privateKey.algorithm, store.algorithm);
    assert.ok(privateKeyMatches(opened.privateKey, opened.certificate.der));
    assert.match(opened.certificate.subject.text, /CN=/);
  });

  test(`refuses ${store.file} with a wrong password`, () => {
    assert.throws(
      () => openPkcs12(read(store.file), store.password + 'x'),
      (e: unknown) => e instanceof PkiError && e.code === 'p12.bad_password',
    );
  });
}

test('the RSA store holds the IIN 123456789011 signing certificate', () => {
  const { certificate } = openPkcs12(read('individual_valid_sign_2004_rsa.p12'), 'Qwerty12');
  assert.equal(certificate.profile.iin, '123456789011');
  assert.equal(certificate.profile.keyPurpose, 'sign');
  assert.equal(certificate.notBefore.toISOString().slice(0, 10), '2021-01-18');
});

test('the GOST 2015 store holds the IIN 123456789012 certificate', () => {
  const { certificate } = openPkcs12(read('individual_valid_2015_gost2015.p12'), 'Aa123456');
  assert.equal(certificate.profile.iin, '123456789012');
});

test('the PKCS#12 KDF gives the known answers for password "smeg"', () => {
  // The classic PKCS#12 KDF known-answer set (3DES key and IV, one iteration).
  const key = pkcs12Kdf(
    'sha1',
    pkcs12Password('smeg'),
    Buffer.from('0a58cf64530d823f', 'hex'),
    1,
    1,
    24,
  );
  assert.equal(
    Buffer.from(key).toString('hex'),
    '8aaae6297b6cb04642ab5b077851284eb7128f1a2a7fbca3',
  );
  const iv = pkcs12Kdf(
    'sha1',
    pkcs12Password('smeg'),
    Buffer.from('0a58cf64530d823f', 'hex'),
    KDF_ID.iv,
    1,
    8,
  );
  assert.equal(Buffer.from(iv).toString('hex'), '79993dfe048d3b76');
});

test('createPkcs12 round-trips through openPkcs12 and keeps the chain', () => {
  const source = openPkcs12(read('individual_valid_sign_2004_rsa.p12'), 'Qwerty12');
  const ca = openPkcs12(read('individual_valid_2015_gost2015.p12'), 'Aa123456').certificate;
  const bytes = createPkcs12(
    {
      privateKeyPkcs8: privateKeyToPkcs8(source.privateKey),
      certificate: source.certificate.der,
      chain: [ca.der],
      friendlyName: 'demo',
    },
    'секрет-1',
  );
  const reopened = openPkcs12(bytes, 'секрет-1');
  assert.deepEqual(reopened.certificate.der, source.certificate.der);
  assert.deepEqual(
    reopened.chain.map((c) => c.der),
    [ca.der],
  );
  assert.deepEqual(
    subjectPublicKeyInfo(reopened.privateKey),
    subjectPublicKeyInfo(source.privateKey),
  );
  assert.throws(() => openPkcs12(bytes, 'секрет-2'), { code: 'p12.bad_password' });
});

test('createPkcs12 writes GOST keys that open again with the same scalar', () => {
  const source = openPkcs12(read('ceo_revoked_2015.p12'), 'Aa123456');
  const bytes = createPkcs12(
    { privateKeyPkcs8: privateKeyToPkcs8(source.privateKey), certificate: source.certificate.der },
    'pw',
  );
  const reopened = openPkcs12(bytes, 'pw');
  assert.deepEqual(reopened.privateKey, source.privateKey);
});

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test('openssl pkcs12 opens an RSA store written by createPkcs12', { skip: !hasOpenssl() }, () => {
  const source = openPkcs12(read('individual_valid_sign_2004_rsa.p12'), 'Qwerty12');
  const bytes = createPkcs12(
    { privateKeyPkcs8: privateKeyToPkcs8(source.privateKey), certificate: source.certificate.der },
    'Passw0rd',
  );
  const dir = mkdtempSync(join(tmpdir(), 'upp-p12-'));
  try {
    writeFileSync(join(dir, 'k.p12'), bytes);
    const pem = execFileSync('openssl', [
      'pkcs12',
      '-in',
      join(dir, 'k.p12'),
      '-passin',
      'pass:Passw0rd',
      '-nodes',
      '-nocerts',
    ]).toString();
    const fromOpenssl = createPublicKey(pem).export({ format: 'der', type: 'spki' });
    assert.deepEqual(new Uint8Array(fromOpenssl), subjectPublicKeyInfo(source.privateKey));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a GOST scalar outside the group is refused with a PkiError', () => {
  const key = { algorithm: 'gost2015-512' as const, scalar: (1n << 512n) - 1n };
  const reread = privateKeyFromPkcs8(privateKeyToPkcs8(key));
  assert.equal(reread.algorithm === 'gost2015-512' && reread.scalar, key.scalar);
  assert.throws(() => subjectPublicKeyInfo(reread), { code: 'key.malformed' });
});
