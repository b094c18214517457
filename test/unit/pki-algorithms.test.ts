// Signature algorithm names and verification: RSA PKCS#1 v1.5 on the NCA test chain, PSS and
// ECDSA with keys made here, digest-only verification, and standard digest vectors.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign as nodeSign, constants, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AsnConvert } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import { RsaSaPssParams } from '@peculiar/asn1-rsa';
import {
  digest,
  digestOidName,
  signatureAlgorithmName,
  verifyDigestSignature,
  verifySignature,
  SIGNATURE_ALGORITHM_OIDS,
} from '../../src/pki/algorithms.js';
import { parseCertificate } from '../../src/pki/certificate.js';
import { PkiError } from '../../src/pki/errors.js';

const vectors = new URL('../../../shared/kz-eds-vectors/', import.meta.url);
const cert = (path: string) => parseCertificate(readFileSync(new URL(path, vectors)));
const message = new TextEncoder().encode('UPP signed document');

function spkiOf(publicKey: KeyObject): SubjectPublicKeyInfo {
  return AsnConvert.parse(publicKey.export({ format: 'der', type: 'spki' }), SubjectPublicKeyInfo);
}

function flip(bytes: Uint8Array, at: number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[at % copy.length] = (copy[at % copy.length] as number) ^ 1;
  return copy;
}

test('names of signature and digest algorithm identifiers', () => {
  const name = (oid: string) => signatureAlgorithmName(new AlgorithmIdentifier({ algorithm: oid }));
  assert.equal(name('1.2.840.113549.1.1.11'), 'rsa-pkcs1-sha256');
  assert.equal(name('1.2.840.10045.4.3.3'), 'ecdsa-sha384');
  assert.equal(name('1.2.398.3.10.1.1.2.3.2'), 'gost2015-512');
  assert.equal(name('1.2.398.3.10.1.1.1.2'), 'gost2004');
  assert.equal(digestOidName('1.2.398.3.10.1.3.3'), 'gost2015-512');
  assert.equal(digestOidName('1.2.398.3.10.1.3.1'), 'gost2004');
  assert.equal(digestOidName('2.16.840.1.101.3.4.2.1'), 'sha256');
  assert.throws(
    () => name('1.2.3.4'),
    (e: unknown) => e instanceof PkiError && e.code === 'algorithm.unsupported',
  );
  assert.throws(() => digestOidName('1.2.643.2.2.9'), PkiError);
});

test('SHA digests match the FIPS 180 "abc" vectors', () => {
  const abc = new TextEncoder().encode('abc');
  const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
  assert.equal(hex(digest('sha1', abc)), 'a9993e364706816aba3e25717850c26c9cd0d89d');
  assert.equal(
    hex(digest('sha256', abc)),
    'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
  );
});

test('RSA PKCS#1 v1.5: the NCA test root signed its issuing CA, and nothing else', () => {
  const root = cert('ca/root_rsa_test.crt');
  const issuing = cert('ca/nca_rsa_test.crt');
  const leaf = cert('certs/individual_valid_sign_2004_rsa.cer');
  const alg = issuing.asn.signatureAlgorithm;
  const signature = new Uint8Array(issuing.asn.signatureValue);
  assert.equal(verifySignature(alg, root.spki, issuing.tbs, signature), true);
  assert.equal(verifySignature(alg, root.spki, flip(issuing.tbs, 200), signature), false);
  assert.equal(verifySignature(alg, root.spki, issuing.tbs, flip(signature, 7)), false);
  assert.equal(verifySignature(alg, issuing.spki, issuing.tbs, signature), false);
  const leafSignature = new Uint8Array(leaf.asn.signatureValue);
  assert.equal(verifySignature(alg, issuing.spki, leaf.tbs, leafSignature), true);
  const leafDigest = digest('sha256', leaf.tbs);
  assert.equal(verifyDigestSignature(alg, issuing.spki, leafDigest, leafSignature), true);
  assert.equal(verifyDigestSignature(alg, issuing.spki, flip(leafDigest, 3), leafSignature), false);
});

test('GOST 2015-512 and 2004: the NCA test roots signed their issuing CAs', () => {
  const pairs = [
    ['ca/root_test_gost_2022.cer', 'ca/nca_gost2022_test.cer', 'gost2015-512'],
    ['ca/root_gost_test.crt', 'ca/nca_gost_test.crt', 'gost2004'],
  ] as const;
  for (const [rootPath, caPath, name] of pairs) {
    const root = cert(rootPath);
    const ca = cert(caPath);
    const alg = ca.asn.signatureAlgorithm;
    assert.equal(signatureAlgorithmName(alg), name);
    const signature = new Uint8Array(ca.asn.signatureValue);
    assert.equal(verifySignature(alg, root.spki, ca.tbs, signature), true, caPath);
    assert.equal(verifySignature(alg, root.spki, flip(ca.tbs, 100), signature), false);
    assert.equal(verifySignature(alg, root.spki, ca.tbs, flip(signature, 5)), false);
    assert.equal(verifySignature(alg, ca.spki, ca.tbs, signature), false);
    assert.equal(verifyDigestSignature(alg, root.spki, digest(name, ca.tbs), signature), true);
  }
});

test('a GOST signature algorithm with an RSA key does not verify', () => {
  const root = cert('ca/root_rsa_test.crt');
  const gostAlg = new AlgorithmIdentifier({ algorithm: SIGNATURE_ALGORITHM_OIDS['gost2015-512'] });
  assert.equal(verifySignature(gostAlg, root.spki, message, new Uint8Array(128)), false);
});

test('RSA-PSS with SHA-256: whole-message and digest-only verification', () => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const sha256 = new AlgorithmIdentifier({ algorithm: '2.16.840.1.101.3.4.2.1', parameters: null });
  const params = new RsaSaPssParams({
    hashAlgorithm: sha256,
    maskGenAlgorithm: new AlgorithmIdentifier({
      algorithm: '1.2.840.113549.1.1.8',
      parameters: AsnConvert.serialize(sha256),
    }),
    saltLength: 32,
  });
  const alg = new AlgorithmIdentifier({
    algorithm: SIGNATURE_ALGORITHM_OIDS['rsa-pss'],
    parameters: AsnConvert.serialize(params),
  });
  const signature = new Uint8Array(
    nodeSign('sha256', message, {
      key: privateKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: 32,
    }),
  );
  const spki = spkiOf(publicKey);
  assert.equal(verifySignature(alg, spki, message, signature), true);
  assert.equal(verifySignature(alg, spki, flip(message, 0), signature), false);
  assert.equal(verifyDigestSignature(alg, spki, digest('sha256', message), signature), true);
  assert.equal(
    verifyDigestSignature(alg, spki, digest('sha256', flip(message, 1)), signature),
    false,
  );
  assert.equal(
    verifyDigestSignature(alg, spki, digest('sha256', message), flip(signature, 9)),
    false,
  );
});

test('ECDSA P-256 and P-384: DER signatures, whole message and digest only', () => {
  const cases = [
    { curve: 'P-256', hash: 'sha256', name: 'ecdsa-sha256' },
    { curve: 'P-384', hash: 'sha384', name: 'ecdsa-sha384' },
  ] as const;
  for (const { curve, hash, name } of cases) {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: curve });
    const alg = new AlgorithmIdentifier({ algorithm: SIGNATURE_ALGORITHM_OIDS[name] });
    const signature = new Uint8Array(nodeSign(hash, message, privateKey));
    const spki = spkiOf(publicKey);
    assert.equal(verifySignature(alg, spki, message, signature), true);
    assert.equal(verifySignature(alg, spki, flip(message, 4), signature), false);
    assert.equal(verifyDigestSignature(alg, spki, digest(hash, message), signature), true);
    assert.equal(verifySignature(alg, spki, message, flip(signature, 20)), false);
    assert.equal(verifySignature(alg, spki, message, new Uint8Array(3)), false);
  }
});
