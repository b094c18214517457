// RFC 3161: the platform time-stamp authority issues tokens and responses that verify here and
// in `openssl ts`, and CMS signatures carry them as signatureTimeStampToken.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { toPem } from '../../src/pki/pem.js';
import { signCms } from '../../src/pki/cms-sign.js';
import { checkCmsSignatures, parseCms } from '../../src/pki/cms.js';
import { PkiError } from '../../src/pki/errors.js';
import {
  encodeTimeStampRequest,
  FAILURE,
  imprintOf,
  parseTimeStampResponse,
  PKI_STATUS,
  TimeStampAuthority,
  verifyTimeStampToken,
} from '../../src/pki/tsp.js';
import type { KeyAlgorithm } from '../../src/pki/keys.js';
import { createTrustStore } from '../../src/pki/trust.js';
import { verifyCms } from '../../src/pki/verify.js';
import { testLeaf, testRoot, vectorSigner } from './pki-sign-fixtures.js';
import type { TestIssuer } from './pki-sign-fixtures.js';

const TIME_STAMPING = '1.3.6.1.5.5.7.3.8';
const POLICY = '1.2.398.3.3.2.6';
const NOW = new Date('2026-03-02T09:15:30.250Z');

// Key generation is the slow part, so each algorithm's TSA keys are made once; every test still
// gets its own authority (and serial counter).
const keys = new Map<KeyAlgorithm, { root: TestIssuer; tsa: TestIssuer }>();

function tsaKeys(algorithm: KeyAlgorithm) {
  let entry = keys.get(algorithm);
  if (entry === undefined) {
    const root = testRoot(algorithm);
    entry = { root, tsa: testLeaf(root, algorithm, TSA_CERTIFICATE) };
    keys.set(algorithm, entry);
  }
  return entry;
}

const TSA_CERTIFICATE = {
  subject: [
    ['C', 'KZ'],
    ['CN', 'UPP TSA (TEST)'],
  ],
  extKeyUsage: [TIME_STAMPING],
  extKeyUsageCritical: true,
  keyUsage: ['digitalSignature', 'nonRepudiation'],
} satisfies Parameters<typeof testLeaf>[2];

function authority(algorithm: KeyAlgorithm = 'rsa') {
  const { root, tsa } = tsaKeys(algorithm);
  let serial = 100n;
  const authority = new TimeStampAuthority({
    ...tsa,
    chain: [root.certificate],
    clock: () => NOW,
    policy: POLICY,
    serialNumber: () => serial++,
  });
  return { root, authority };
}

const DATA = new TextEncoder().encode('receipt 42');

for (const algorithm of ['rsa', 'gost2015-512'] as const) {
  test(`a ${algorithm} TSA token verifies for its data, with genTime and serial`, () => {
    const { authority: tsa } = authority(algorithm);
    const token = tsa.issue({ data: DATA });
    const result = verifyTimeStampToken(token, { data: DATA });
    assert.deepEqual(result.errors, []);
    assert.equal(result.valid, true);
    assert.equal(result.time.toISOString(), NOW.toISOString());
    assert.equal(result.info.serialNumber, 100n);
    assert.equal(result.info.policy, POLICY);
    assert.equal(verifyTimeStampToken(tsa.issue({ data: DATA })).info.serialNumber, 101n);
  });
}

test('a token checked against other data reports timestamp.imprint_mismatch', () => {
  const { authority: tsa } = authority();
  const token = tsa.issue({ data: DATA });
  const result = verifyTimeStampToken(token, { data: new TextEncoder().encode('receipt 43') });
  assert.equal(result.valid, false);
  assert.deepEqual(
    result.errors.map((e) => e.code),
    ['timestamp.imprint_mismatch'],
  );
});

test('respond answers a request with a granted response that echoes the nonce', () => {
  const { authority: tsa } = authority();
  const request = encodeTimeStampRequest({
    imprint: imprintOf(DATA),
    nonce: 123456789n,
    certReq: true,
  });
  const response = parseTimeStampResponse(tsa.respond(request));
  assert.equal(response.status, PKI_STATUS.granted);
  assert.ok(response.token);
  const result = verifyTimeStampToken(response.token, { imprint: imprintOf(DATA) });
  assert.equal(result.valid, true);
  assert.equal(result.info.nonce, 123456789n);
});

test('respond rejects garbage and unknown digests with the RFC 3161 failure bits', () => {
  const { authority: tsa } = authority();
  const garbage = parseTimeStampResponse(tsa.respond(Uint8Array.of(1, 2, 3)));
  assert.equal(garbage.status, PKI_STATUS.rejection);
  assert.equal(garbage.failInfo, FAILURE.badRequest);
  assert.equal(garbage.token, undefined);
  const md5 = encodeTimeStampRequest({
    imprint: { hashOid: '1.2.840.113549.2.5', hash: createHash('md5').update(DATA).digest() },
    certReq: false,
  });
  const badAlg = parseTimeStampResponse(tsa.respond(md5));
  assert.equal(badAlg.status, PKI_STATUS.rejection);
  assert.equal(badAlg.failInfo, FAILURE.badAlg);
});

test('a certificate without id-kp-timeStamping, or another key, cannot run a TSA', () => {
  const store = vectorSigner('rsa');
  assert.throws(
    () => new TimeStampAuthority({ ...store, clock: () => NOW, policy: POLICY }),
    (e: unknown) => e instanceof PkiError && e.code === 'timestamp.not_tsa',
  );
  const { tsa } = tsaKeys('rsa');
  const other = vectorSigner('rsa').privateKey;
  assert.throws(
    () => new TimeStampAuthority({ ...tsa, privateKey: other, clock: () => NOW, policy: POLICY }),
    { code: 'sign.key_mismatch' },
  );
});

test('a CMS signer carries a signatureTimeStampToken over its signature value', () => {
  const { authority: tsa } = authority();
  const signer = vectorSigner('gost2015-512');
  const signed = signCms({
    content: DATA,
    detached: false,
    signingTime: NOW,
    signers: [signer],
    timestamp: (signature) => tsa.stampSignature(signature),
  });
  const [result] = checkCmsSignatures(parseCms(signed));
  assert.equal(result?.signatureValid, true);
  assert.equal(result?.timestamp?.valid, true);
  assert.equal(result?.timestamp?.time.toISOString(), NOW.toISOString());
});

test('a time-stamp over another signature value is reported on the signer', () => {
  const { authority: tsa } = authority();
  const signer = vectorSigner('rsa');
  const signed = signCms({
    content: DATA,
    detached: false,
    signingTime: NOW,
    signers: [signer],
    timestamp: () => tsa.stampSignature(new Uint8Array(8)),
  });
  const [result] = checkCmsSignatures(parseCms(signed));
  assert.equal(result?.signatureValid, true);
  assert.equal(result?.timestamp?.valid, false);
  assert.ok(result?.errors.some((e) => e.code === 'timestamp.imprint_mismatch'));
});

test('verifyCms needs the TSA of an embedded time-stamp to chain to the trust store', async () => {
  const { root: tsaRoot, authority: tsa } = authority('gost2015-512');
  const signerRoot = testRoot('rsa');
  const signer = testLeaf(signerRoot, 'rsa');
  const signed = signCms({
    content: DATA,
    detached: false,
    signingTime: NOW,
    signers: [signer],
    timestamp: (signature) => tsa.stampSignature(signature),
  });
  const verify = (roots: (typeof signerRoot.certificate)[]) =>
    verifyCms(signed, {
      trust: createTrustStore({ kind: 'test', roots }, {}),
      at: NOW,
      revocation: 'none',
    });
  const without = await verify([signerRoot.certificate]);
  assert.equal(without.valid, false);
  assert.deepEqual(
    without.signers[0]?.errors.map((e) => e.code),
    ['timestamp.untrusted'],
  );
  const withTsa = await verify([signerRoot.certificate, tsaRoot.certificate]);
  assert.equal(withTsa.valid, true, JSON.stringify(withTsa.signers[0]?.errors));
  assert.equal(withTsa.signers[0]?.timestamp?.time, NOW.toISOString());
});

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test('openssl ts verifies a response of the RSA TSA', { skip: !hasOpenssl() }, () => {
  const { root, authority: tsa } = authority('rsa');
  const request = encodeTimeStampRequest({ imprint: imprintOf(DATA), nonce: 7n, certReq: true });
  const dir = mkdtempSync(join(tmpdir(), 'upp-tsp-'));
  try {
    writeFileSync(join(dir, 'data'), DATA);
    writeFileSync(join(dir, 'r.tsr'), tsa.respond(request));
    writeFileSync(join(dir, 'root.pem'), toPem(root.certificate.der, 'CERTIFICATE'));
    const out = execFileSync(
      'openssl',
      [
        'ts',
        '-verify',
        '-data',
        join(dir, 'data'),
        '-in',
        join(dir, 'r.tsr'),
        '-CAfile',
        join(dir, 'root.pem'),
        '-attime',
        String(Math.floor(NOW.getTime() / 1000)),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    ).toString();
    assert.match(out, /Verification: OK/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
