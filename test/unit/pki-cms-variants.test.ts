// CMS forms other tools produce, built by hand: no signed attributes, a subject key identifier
// as signer id, ESS signing-certificate v1, rsaEncryption as signature algorithm, a signer
// certificate given outside the message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { decodeBer, der } from '../../src/pki/ber.js';
import { checkCmsSignatures, CMS_OIDS, parseCms } from '../../src/pki/cms.js';
import { keyDigest, signatureParts, signData } from '../../src/pki/keys.js';
import { testLeaf, testRoot } from './pki-sign-fixtures.js';

const CONTENT = new TextEncoder().encode('протокол итогов');
const signer = testLeaf(testRoot('rsa'), 'rsa');
const parts = signatureParts('rsa');
const serial = der.unsignedInteger(
  Buffer.from(signer.certificate.serialHex.padStart(2, '0'), 'hex'),
);
const issuerAndSerial = der.sequence(signer.certificate.issuerDer, serial);

function message(signerInfo: Uint8Array, withCertificate = true): Uint8Array {
  return der.sequence(
    der.oid(CMS_OIDS.signedData),
    der.explicit(
      0,
      der.sequence(
        der.integer(1),
        der.set(parts.digestAlgorithm),
        der.sequence(der.oid(CMS_OIDS.data), der.explicit(0, der.octetString(CONTENT))),
        ...(withCertificate ? [der.implicitConstructed(0, signer.certificate.der)] : []),
        der.set(signerInfo),
      ),
    ),
  );
}

const attribute = (oid: string, value: Uint8Array) => der.sequence(der.oid(oid), der.set(value));

function withAttributes(extra: Uint8Array[], signatureAlgorithm = parts.signatureAlgorithm) {
  const attributes = der.setOf([
    attribute(CMS_OIDS.contentType, der.oid(CMS_OIDS.data)),
    attribute(CMS_OIDS.messageDigest, der.octetString(keyDigest('rsa', CONTENT))),
    ...extra,
  ]);
  return der.sequence(
    der.integer(1),
    issuerAndSerial,
    parts.digestAlgorithm,
    der.implicitConstructed(0, decodeBer(attributes, 'test').value),
    signatureAlgorithm,
    der.octetString(signData(signer.privateKey, attributes)),
  );
}

test('a signer without signed attributes signs the content itself', () => {
  const signerInfo = der.sequence(
    der.integer(1),
    issuerAndSerial,
    parts.digestAlgorithm,
    parts.signatureAlgorithm,
    der.octetString(signData(signer.privateKey, CONTENT)),
  );
  const [result] = checkCmsSignatures(parseCms(message(signerInfo)));
  assert.equal(result?.signatureValid, true, JSON.stringify(result?.errors));
  assert.equal(result?.signingTime, undefined);
});

test('a subject key identifier finds the signer certificate', () => {
  const ski = Buffer.from(signer.certificate.subjectKeyId ?? '', 'hex');
  const signerInfo = der.sequence(
    der.integer(3),
    der.implicitPrimitive(0, ski),
    parts.digestAlgorithm,
    parts.signatureAlgorithm,
    der.octetString(signData(signer.privateKey, CONTENT)),
  );
  const [result] = checkCmsSignatures(parseCms(message(signerInfo)));
  assert.equal(result?.signatureValid, true);
  assert.equal(result?.certificate?.fingerprintSha256, signer.certificate.fingerprintSha256);
});

test('ESS signing-certificate v1 is checked against the signer certificate', () => {
  const essV1 = (hash: Uint8Array) =>
    attribute(
      CMS_OIDS.signingCertificate,
      der.sequence(der.sequence(der.sequence(der.octetString(hash)))),
    );
  const right = createHash('sha1').update(signer.certificate.der).digest();
  const [good] = checkCmsSignatures(parseCms(message(withAttributes([essV1(right)]))));
  assert.equal(good?.signatureValid, true, JSON.stringify(good?.errors));
  const wrong = createHash('sha1').update('another certificate').digest();
  const [bad] = checkCmsSignatures(parseCms(message(withAttributes([essV1(wrong)]))));
  assert.equal(bad?.signatureValid, false);
  assert.deepEqual(
    bad?.errors.map((e) => e.code),
    ['cms.signing_certificate_mismatch'],
  );
});

test('rsaEncryption as the signature algorithm is read with the digest algorithm', () => {
  const rsaEncryption = der.sequence(der.oid('1.2.840.113549.1.1.1'), der.null());
  const [result] = checkCmsSignatures(parseCms(message(withAttributes([], rsaEncryption))));
  assert.equal(result?.signatureValid, true);
  assert.equal(result?.signatureAlgorithm, 'rsa-pkcs1-sha256');
});

test('a signer certificate missing from the message can be supplied by the caller', () => {
  const cms = parseCms(message(withAttributes([]), false));
  const [missing] = checkCmsSignatures(cms);
  assert.deepEqual(
    missing?.errors.map((e) => e.code),
    ['cms.signer_not_found'],
  );
  const [found] = checkCmsSignatures(cms, { certificates: [signer.certificate] });
  assert.equal(found?.signatureValid, true);
});

test('a wrong contentType attribute is reported', () => {
  const attributes = der.setOf([
    attribute(CMS_OIDS.contentType, der.oid(CMS_OIDS.tstInfo)),
    attribute(CMS_OIDS.messageDigest, der.octetString(keyDigest('rsa', CONTENT))),
  ]);
  const signerInfo = der.sequence(
    der.integer(1),
    issuerAndSerial,
    parts.digestAlgorithm,
    der.implicitConstructed(0, decodeBer(attributes, 'test').value),
    parts.signatureAlgorithm,
    der.octetString(signData(signer.privateKey, attributes)),
  );
  const [result] = checkCmsSignatures(parseCms(message(signerInfo)));
  assert.equal(result?.signatureValid, false);
  assert.deepEqual(
    result?.errors.map((e) => e.code),
    ['cms.content_type_mismatch'],
  );
});
