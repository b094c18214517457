// verifyXml: the full report (signature, chain, validity at a moment, revocation) for the NCA
// vectors and a document signed with the NCA GOST 2015 test key, inside and after validity.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseCertificate, type Certificate } from '../../src/pki/certificate.js';
import { PkiError } from '../../src/pki/errors.js';
import { createTrustStore } from '../../src/pki/trust.js';
import type { RevocationAnswer, RevocationCheck } from '../../src/pki/verify.js';
import { checkXmlSignatures } from '../../src/pki/xml/dsig.js';
import { signXml } from '../../src/pki/xml/sign.js';
import { verifyXml } from '../../src/pki/xml/verify.js';
import { vectorSigner } from './pki-sign-fixtures.js';

const shared = new URL('../../../shared/kz-eds-vectors/', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, shared));
const rsaXml = read('xml/xml_signed_rsa_1signer.xml');
const soapXml = read('xml/soap_wsse_signed.xml');
const certificate = (path: string): Certificate => parseCertificate(read(path));

const trust = createTrustStore({
  kind: 'test',
  roots: ['root_rsa_test.crt', 'root_gost_test.crt', 'root_test_gost_2022.cer'].map((name) =>
    certificate(`ca/${name}`),
  ),
  intermediates: ['nca_rsa_test.crt', 'nca_gost_test.crt', 'nca_gost2022_test.cer'].map((name) =>
    certificate(`ca/${name}`),
  ),
});
const TODAY = new Date('2026-12-03T00:00:00Z');

/** A moment one day after the embedded signer certificate's notBefore. */
function insideValidity(xml: string | Uint8Array): Date {
  const signer = checkXmlSignatures(xml)[0]?.certificate;
  assert.ok(signer);
  return new Date(signer.notBefore.getTime() + 24 * 3600 * 1000);
}

for (const [name, xml] of [
  ['xml_signed_rsa_1signer.xml', rsaXml],
  ['soap_wsse_signed.xml', soapXml],
] as const) {
  test(`${name}: valid inside the certificate's validity, expired as of 2026-12-03`, async () => {
    const at = insideValidity(xml);
    const report = await verifyXml(xml, { trust, at, file: name });
    assert.equal(report.kind, 'xml');
    assert.equal(report.file, name);
    assert.equal(report.valid, true, JSON.stringify(report.signers[0]?.errors));
    const [signer] = report.signers;
    assert.ok(signer);
    assert.equal(signer.signatureValid, true);
    assert.equal(signer.timeValid, true);
    assert.equal(signer.signingTime, null);
    assert.equal(signer.chain.trusted, true);
    assert.ok(signer.chain.anchor);
    assert.deepEqual(signer.certificate?.subject, {
      commonName: 'ТЕСТОВ ТЕСТ',
      iin: '123456789011',
      bin: null,
      organization: null,
    });
    assert.equal(signer.certificate?.keyPurpose, 'sign');
    assert.deepEqual(signer.certificate?.roles, ['individual']);
    assert.equal(signer.certificate?.algorithm, 'rsa');
    assert.equal(signer.certificate?.notBefore, '2021-01-18T13:09:14.000Z');
    assert.deepEqual(signer.revocation, { status: 'unknown', source: 'none', revokedAt: null });

    const later = await verifyXml(xml, { trust, at: TODAY });
    assert.equal(later.valid, false);
    assert.equal(later.signers[0]?.signatureValid, true);
    assert.equal(later.signers[0]?.timeValid, false);
    assert.ok(later.signers[0]?.errors.some((e) => e.code === 'cert.expired'));
  });
}

test('GOST 2015-512 XML signed with the NCA test key: trusted via GOST TEST 2022', async () => {
  const signed = signXml('<xml>test</xml>', vectorSigner('gost2015-512'));
  const at = new Date('2023-01-15T00:00:00Z');
  const report = await verifyXml(signed, { trust, at });
  assert.equal(report.valid, true, JSON.stringify(report.signers[0]?.errors));
  const [signer] = report.signers;
  assert.ok(signer);
  assert.equal(signer.signatureValid, true);
  assert.equal(signer.timeValid, true);
  assert.equal(signer.chain.trusted, true);
  assert.ok(signer.chain.anchor?.includes('TEST 2022'), signer.chain.anchor ?? 'no anchor');
  assert.equal(signer.certificate?.algorithm, 'gost2015-512');
  assert.equal(signer.certificate?.subject.iin, '123456789012');
  assert.equal(signer.certificate?.notBefore, '2022-07-28T12:34:48.000Z');
  assert.equal(signer.certificate?.notAfter, '2023-07-28T12:34:48.000Z');

  const later = await verifyXml(signed, { trust, at: TODAY });
  assert.equal(later.valid, false);
  assert.ok(later.signers[0]?.errors.some((e) => e.code === 'cert.expired'));
  assert.equal(later.signers[0]?.signatureValid, true);
  assert.equal(later.signers[0]?.timeValid, false);

  const earlier = await verifyXml(signed, { trust, at: new Date('2022-07-01T00:00:00Z') });
  assert.equal(earlier.valid, false);
  assert.ok(earlier.signers[0]?.errors.some((e) => e.code === 'cert.not_yet_valid'));
  assert.equal(earlier.signers[0]?.signatureValid, true);
});

test('revocation answers are reported on the signer', async () => {
  const at = insideValidity(rsaXml);
  const revokedAt = new Date('2021-02-01T00:00:00Z');
  const revoked: RevocationCheck = {
    check: async (): Promise<RevocationAnswer> => ({ status: 'revoked', source: 'crl', revokedAt }),
  };
  const report = await verifyXml(rsaXml, { trust, at, revocation: revoked });
  assert.equal(report.valid, false);
  assert.deepEqual(report.signers[0]?.revocation, {
    status: 'revoked',
    source: 'crl',
    revokedAt: revokedAt.toISOString(),
  });
  assert.ok(report.signers[0]?.errors.some((e) => e.code === 'cert.revoked'));
  const good: RevocationCheck = {
    check: async (): Promise<RevocationAnswer> => ({ status: 'good', source: 'ocsp' }),
  };
  const fine = await verifyXml(rsaXml, { trust, at, revocation: good });
  assert.equal(fine.valid, true);
  assert.equal(fine.signers[0]?.revocation.source, 'ocsp');
  const failing: RevocationCheck = {
    check: async () => {
      throw new PkiError('revocation.unavailable', 'responder down');
    },
  };
  const unknown = await verifyXml(rsaXml, { trust, at, revocation: failing });
  assert.equal(unknown.valid, false);
  assert.ok(unknown.signers[0]?.errors.some((e) => e.code === 'revocation.unavailable'));
});

test('untrusted signers, broken signatures and unreadable input', async () => {
  const at = insideValidity(rsaXml);
  const empty = createTrustStore({
    kind: 'test',
    roots: [certificate('ca/root_test_gost_2022.cer')],
  });
  const untrusted = await verifyXml(rsaXml, { trust: empty, at });
  assert.equal(untrusted.valid, false);
  assert.equal(untrusted.signers[0]?.chain.trusted, false);
  const tampered = rsaXml.toString('utf8').replace('<b>test</b>', '<b>tset</b>');
  const broken = await verifyXml(tampered, { trust, at });
  assert.equal(broken.valid, false);
  assert.equal(broken.signers[0]?.signatureValid, false);
  assert.ok(broken.signers[0]?.errors.some((e) => e.code === 'digest.mismatch'));
  const garbage = await verifyXml('<a><b>', { trust, at });
  assert.deepEqual(
    { valid: garbage.valid, signers: garbage.signers, codes: garbage.errors?.map((e) => e.code) },
    { valid: false, signers: [], codes: ['xml.malformed'] },
  );
  const unsigned = await verifyXml('<a/>', { trust, at });
  assert.deepEqual(
    unsigned.errors?.map((e) => e.code),
    ['xml.no_signature'],
  );
});
