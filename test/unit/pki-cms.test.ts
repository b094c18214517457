// CMS verification against the NCA RK sample messages: signatures, signers, signing times,
// detached content, tampering, and the full report of verifyCms (chain at a moment, revocation).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { checkCmsSignatures, parseCms } from '../../src/pki/cms.js';
import { parseCertificate } from '../../src/pki/certificate.js';
import type { Certificate } from '../../src/pki/certificate.js';
import { createTrustStore } from '../../src/pki/trust.js';
import { verifyCms } from '../../src/pki/verify.js';
import type { RevocationAnswer } from '../../src/pki/verify.js';
import { signCms } from '../../src/pki/cms-sign.js';
import { PkiError } from '../../src/pki/errors.js';
import { openPkcs12 } from '../../src/pki/pkcs12.js';
import { RevocationChecker } from '../../src/pki/revocation.js';
import { readVector } from './pki-sign-fixtures.js';

const TEST123 = readVector('cms/test123.txt');
const LOL_KEK = readVector('cms/lol_kek.txt');
const AT_2022 = new Date('2022-09-28T00:00:00Z');

const trust = createTrustStore(
  {
    kind: 'test',
    certificates: [
      'ca/root_rsa_test.crt',
      'ca/nca_rsa_test.crt',
      'ca/root_test_gost_2022.cer',
      'ca/nca_gost2022_test.cer',
    ].map((path) => parseCertificate(readVector(path))),
  },
  {},
);

test('attached CMS with a GOST 2015 and an RSA signer: both signatures valid', () => {
  const cms = parseCms(readVector('cms/cms_attached_2signers_test123.p7s'));
  assert.deepEqual(cms.content, new Uint8Array(TEST123));
  const results = checkCmsSignatures(cms);
  assert.deepEqual(
    results.map((r) => [r.signatureValid, r.signatureAlgorithm, r.certificate?.profile.iin]),
    [
      [true, 'gost2015-512', '123456789012'],
      [true, 'rsa-pkcs1-sha256', '123456789011'],
    ],
  );
  assert.ok(results.every((r) => r.signingTime?.toISOString().startsWith('2022-09-27')));
});

test('detached CMS verifies with test123.txt and needs the content', () => {
  const bytes = readVector('cms/cms_detached_2signers_test123.p7s');
  const cms = parseCms(bytes);
  assert.equal(cms.content, undefined);
  const results = checkCmsSignatures(cms, { content: TEST123 });
  assert.ok(results.every((r) => r.signatureValid && r.errors.length === 0));
  const without = checkCmsSignatures(cms);
  assert.ok(without.every((r) => !r.signatureValid));
  assert.ok(without.every((r) => r.errors.some((e) => e.code === 'cms.content_missing')));
  const wrong = checkCmsSignatures(cms, { content: LOL_KEK });
  assert.ok(wrong.every((r) => r.errors.some((e) => e.code === 'digest.mismatch')));
});

for (const [file, content] of [
  ['cms/cms_attached_1signer_rsa_test123.p7s', TEST123],
  ['cms/cms_attached_1signer_rsa_lol_kek.p7s', LOL_KEK],
] as const) {
  test(`${file}: one valid RSA signature over its content`, () => {
    const cms = parseCms(readVector(file));
    assert.deepEqual(cms.content, new Uint8Array(content));
    const [result] = checkCmsSignatures(cms);
    assert.equal(result?.signatureValid, true);
    assert.ok((result?.signingTime as Date) > (result?.certificate as Certificate).notAfter);
  });
}

test('PEM and base64 forms parse to the same message', () => {
  const der = readVector('cms/cms_attached_1signer_rsa_test123.p7s');
  const base64 = Buffer.from(der).toString('base64');
  const pem = `-----BEGIN CMS-----\n${base64.match(/.{1,64}/g)?.join('\n')}\n-----END CMS-----\n`;
  assert.deepEqual(parseCms(pem).der, der);
  assert.deepEqual(parseCms(base64).der, der);
});

test('changing the attached content gives digest.mismatch', () => {
  const bytes = Uint8Array.from(readVector('cms/cms_attached_1signer_rsa_test123.p7s'));
  const at = Buffer.from(bytes).indexOf(Buffer.from('test123'));
  bytes[at + 6] = '4'.charCodeAt(0);
  const [result] = checkCmsSignatures(parseCms(bytes));
  assert.equal(result?.signatureValid, false);
  assert.deepEqual(
    result?.errors.map((e) => e.code),
    ['digest.mismatch'],
  );
});

test('garbage and truncated messages give cms.malformed, other types cms.unsupported', () => {
  const bytes = readVector('cms/cms_attached_2signers_test123.p7s');
  assert.throws(() => parseCms(bytes.subarray(0, 1000)), { code: 'cms.malformed' });
  assert.throws(() => parseCms(Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x01)), {
    code: 'cms.malformed',
  });
  const data = Buffer.from('300b06092a864886f70d010701', 'hex');
  assert.throws(() => parseCms(data), { code: 'cms.unsupported' });
});

test('verifyCms at 2022-09-28: the GOST signer passes, the expired RSA one fails', async () => {
  const report = await verifyCms(readVector('cms/cms_detached_2signers_test123.p7s'), {
    content: TEST123,
    trust,
    at: AT_2022,
    revocation: 'none',
    file: 'detached.p7s',
  });
  assert.equal(report.kind, 'cms');
  assert.equal(report.file, 'detached.p7s');
  assert.equal(report.valid, false);
  const [gost, rsa] = report.signers;
  assert.ok(gost && rsa);
  assert.equal(gost.signatureValid, true);
  assert.equal(gost.timeValid, true);
  assert.equal(gost.chain.trusted, true);
  assert.deepEqual(gost.errors, []);
  assert.deepEqual(gost.revocation, { status: 'unknown', source: 'none', revokedAt: null });
  assert.equal(gost.certificate?.subject.iin, '123456789012');
  assert.equal(rsa.signatureValid, true);
  assert.equal(rsa.timeValid, false);
  const codes = rsa.errors.map((e) => e.code);
  assert.ok(codes.includes('cert.expired'));
  assert.ok(codes.includes('signing_time.outside_validity'));
});

test('verifyCms as of today reports the certificates expired', async () => {
  const report = await verifyCms(readVector('cms/cms_attached_2signers_test123.p7s'), {
    trust,
    at: new Date(),
    revocation: 'none',
  });
  assert.equal(report.valid, false);
  assert.ok(report.signers.every((s) => s.errors.some((e) => e.code === 'cert.expired')));
});

test('verifyCms counts revocation: good passes, revoked and unavailable fail', async () => {
  const gostOnly = async (answer: RevocationAnswer | Error) => {
    const report = await verifyCms(readVector('cms/cms_attached_2signers_test123.p7s'), {
      trust,
      at: AT_2022,
      revocation: {
        check: async () => {
          if (answer instanceof Error) throw answer;
          return answer;
        },
      },
    });
    return report.signers[0];
  };
  const good = await gostOnly({ status: 'good', source: 'ocsp' });
  assert.deepEqual(good?.errors, []);
  assert.equal(good?.revocation.source, 'ocsp');
  const revokedAt = new Date('2022-09-01T00:00:00Z');
  const revoked = await gostOnly({ status: 'revoked', source: 'crl', revokedAt });
  assert.deepEqual(
    revoked?.errors.map((e) => e.code),
    ['cert.revoked'],
  );
  assert.equal(revoked?.revocation.revokedAt, revokedAt.toISOString());
  const unknown = await gostOnly({ status: 'unknown', source: 'ocsp' });
  assert.deepEqual(
    unknown?.errors.map((e) => e.code),
    ['revocation.unavailable'],
  );
});

test('verifyCms turns an unreadable input into a report, not an exception', async () => {
  const report = await verifyCms(readFileSync(new URL(import.meta.url)), { trust, at: AT_2022 });
  assert.equal(report.valid, false);
  assert.equal(report.errors?.[0]?.code, 'cms.malformed');
});

const offline = (options: { crl?: string; ocsp?: string }) =>
  new RevocationChecker({
    offlineCrls: options.crl ? [readVector(options.crl)] : [],
    offlineOcspResponses: options.ocsp ? [readVector(options.ocsp)] : [],
    useCertificateUrls: false,
    fetcher: async (url) => {
      throw new PkiError('http.offline', `no network in tests: ${url}`);
    },
  });

for (const vector of [
  {
    store: 'p12/ncanode/individual_sign_revoked_2004.p12',
    password: 'Qwerty12',
    at: new Date('2022-06-01T00:00:00Z'),
    checker: offline({ crl: 'crl/nca_rsa_test.crl' }),
    source: 'crl',
  },
  {
    store: 'p12/ncanode/ceo_revoked_2015.p12',
    password: 'Aa123456',
    at: new Date('2022-09-02T17:00:00Z'),
    checker: offline({ ocsp: 'ocsp/ocsp_response_ceo_2015_revoked.bin' }),
    source: 'ocsp',
  },
]) {
  test(`a signature by the revoked key of ${vector.store} is reported revoked`, async () => {
    const signer = openPkcs12(readVector(vector.store), vector.password);
    const signed = signCms({
      content: TEST123,
      detached: false,
      signingTime: vector.at,
      signers: [signer],
    });
    const report = await verifyCms(signed, { trust, at: vector.at, revocation: vector.checker });
    const [entry] = report.signers;
    assert.equal(report.valid, false);
    assert.equal(entry?.signatureValid, true);
    assert.equal(entry?.chain.trusted, true);
    assert.equal(entry?.revocation.status, 'revoked');
    assert.equal(entry?.revocation.source, vector.source);
    assert.deepEqual(
      entry?.errors.map((e) => e.code),
      ['cert.revoked'],
    );
  });
}
