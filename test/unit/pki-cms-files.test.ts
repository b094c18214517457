// verifyFiles: recognises each kind of input among the NCA RK vectors (CMS, certificate, CRL,
// OCSP response, XML, key store) and time-stamps, and reports on each without throwing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCertificate } from '../../src/pki/certificate.js';
import { createTrustStore } from '../../src/pki/trust.js';
import { detectKind, verifyFiles } from '../../src/pki/verify.js';
import {
  encodeTimeStampRequest,
  imprintOf,
  parseTimeStampResponse,
  TimeStampAuthority,
} from '../../src/pki/tsp.js';
import { readVector, testLeaf, testRoot, VECTORS } from './pki-sign-fixtures.js';

const vectorPath = (path: string) => fileURLToPath(new URL(path, VECTORS));

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

test('detectKind tells the vector files apart', () => {
  const expected: Record<string, string> = {
    'cms/cms_attached_2signers_test123.p7s': 'cms',
    'certs/individual_valid_sign_2004_rsa.cer': 'certificate',
    'ca/root_rsa_test.crt': 'certificate',
    'crl/nca_rsa_test.crl': 'crl',
    'crl/nca_gost2022_test.crl': 'crl',
    'ocsp/ocsp_response_individual_sign_2004.bin': 'ocsp-response',
    'xml/xml_signed_rsa_1signer.xml': 'xml',
    'p12/ncanode/individual_valid_sign_2004_rsa.p12': 'pkcs12',
    'cms/test123.txt': 'unknown',
  };
  for (const [path, kind] of Object.entries(expected)) {
    assert.equal(detectKind(readVector(path)), kind, path);
  }
});

test('verifyFiles reports on every file, with detached content by path', async () => {
  const detached = vectorPath('cms/cms_detached_2signers_test123.p7s');
  const files = [
    detached,
    vectorPath('certs/individual_valid_sign_2004_rsa.cer'),
    vectorPath('crl/nca_rsa_test.crl'),
    vectorPath('ocsp/ocsp_response_individual_sign_2004.bin'),
    vectorPath('p12/ncanode/individual_valid_sign_2004_rsa.p12'),
    vectorPath('does-not-exist.p7s'),
  ];
  const reports = await verifyFiles(files, {
    trust,
    at: new Date('2022-06-01T00:00:00Z'),
    revocation: 'none',
    contents: { [detached]: readVector('cms/test123.txt') },
  });
  assert.deepEqual(
    reports.map((r) => r.kind),
    ['cms', 'certificate', 'crl', 'ocsp-response', 'pkcs12', 'unknown'],
  );
  const [cms, certificate, crl, ocsp, p12, missing] = reports;
  assert.ok(cms?.signers.every((s) => s.signatureValid));
  assert.equal(certificate?.valid, true, JSON.stringify(certificate?.signers[0]?.errors));
  assert.equal(certificate?.signers[0]?.certificate?.subject.iin, '123456789011');
  assert.equal(crl?.signers[0]?.signatureValid, true);
  assert.match(crl?.signers[0]?.certificate?.subject.commonName ?? '', /RSA TEST/);
  assert.equal(ocsp?.signers[0]?.signatureValid, true);
  assert.equal(p12?.valid, false);
  assert.equal(p12?.errors?.[0]?.code, 'input.key_store');
  assert.equal(missing?.errors?.[0]?.code, 'input.unreadable');
});

test('verifyFiles checks a time-stamp token and a response of a TSA', async () => {
  const root = testRoot('rsa');
  const tsa = new TimeStampAuthority({
    ...testLeaf(root, 'rsa', { extKeyUsage: ['1.3.6.1.5.5.7.3.8'], extKeyUsageCritical: true }),
    chain: [root.certificate],
    clock: () => new Date('2026-05-05T05:05:05Z'),
    policy: '1.2.3.4.5',
  });
  const rootTrust = createTrustStore({ kind: 'test', roots: [root.certificate] }, {});
  const response = tsa.respond(
    encodeTimeStampRequest({ imprint: imprintOf(Uint8Array.of(9)), certReq: true }),
  );
  const dir = mkdtempSync(join(tmpdir(), 'upp-verify-'));
  try {
    writeFileSync(join(dir, 'r.tsr'), response);
    writeFileSync(join(dir, 't.tst'), parseTimeStampResponse(response).token as Uint8Array);
    const reports = await verifyFiles([join(dir, 'r.tsr'), join(dir, 't.tst')], {
      trust: rootTrust,
      at: new Date(),
      revocation: 'none',
    });
    assert.deepEqual(
      reports.map((r) => [r.kind, r.valid]),
      [
        ['timestamp-response', true],
        ['timestamp-token', true],
      ],
    );
    assert.equal(reports[1]?.signers[0]?.timestamp?.time, '2026-05-05T05:05:05.000Z');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
