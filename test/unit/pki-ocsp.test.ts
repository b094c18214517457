// OCSP: the NCA RK test responses (good, revoked, "not issued" at 1970), requests and responses
// made with the demo responder builder, responder authorisation rules, and parser fuzzing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseCertificate, type Certificate } from '../../src/pki/certificate.js';
import { PkiError } from '../../src/pki/errors.js';
import {
  checkOcspResponse,
  createOcspRequest,
  ocspErrorResponse,
  parseOcspRequest,
  parseOcspResponse,
  signOcspResponse,
  type StatusAnswer,
} from '../../src/pki/ocsp.js';
import { openPkcs12 } from '../../src/pki/pkcs12.js';
import { ECDSA_SHA256, issue, newKey, signer, smallPki, type TestKey } from './pki-test-issuer.js';
import { fuzzParser } from '../support/fuzz.js';

const vectors = new URL('../../../shared/kz-eds-vectors/', import.meta.url);
const read = (path: string) => new Uint8Array(readFileSync(new URL(path, vectors)));
const cert = (path: string) => parseCertificate(read(path));
const p12 = (file: string, password: string) =>
  openPkcs12(read(`p12/ncanode/${file}`), password).certificate;
const SEPT_2 = new Date('2022-09-02T17:00:00Z');
const isCode = (code: string) => (error: unknown) =>
  error instanceof PkiError && error.code === code;

const cases = [
  {
    response: 'ocsp_response_individual_sign_2004.bin',
    cert: () => p12('individual_valid_sign_2004_rsa.p12', 'Qwerty12'),
    issuer: 'ca/nca_rsa_test.crt',
    status: 'good',
  },
  {
    response: 'ocsp_response_ceo_sign_2004_revoked.bin',
    cert: () => p12('ceo_sign_revoked_2004.p12', 'Qwerty12'),
    issuer: 'ca/nca_gost_test.crt',
    status: 'revoked',
    revokedAt: '2022-01-18T06:30:55.000Z',
    reason: 'superseded',
  },
  {
    response: 'ocsp_response_ceo_2015_revoked.bin',
    cert: () => p12('ceo_revoked_2015.p12', 'Aa123456'),
    issuer: 'ca/nca_gost2022_test.cer',
    status: 'revoked',
    revokedAt: '2022-07-27T10:25:30.000Z',
    reason: 'certificateHold',
  },
  {
    response: 'ocsp_response_individual_2015.bin',
    cert: () => p12('individual_valid_2015_gost2015.p12', 'Aa123456'),
    issuer: 'ca/nca_gost2022_test.cer',
    status: 'unknown',
  },
] as const;

test('the NCA test OCSP responses give good, revoked, revoked, and unknown (1970)', () => {
  for (const item of cases) {
    const response = parseOcspResponse(read(`ocsp/${item.response}`));
    assert.equal(response.responseStatus, 'successful');
    const issuer = cert(item.issuer);
    const result = checkOcspResponse(response, item.cert(), issuer, { at: SEPT_2 });
    assert.equal(result.status, item.status, item.response);
    assert.equal(result.revokedAt?.toISOString(), 'revokedAt' in item ? item.revokedAt : undefined);
    assert.equal(result.reason, 'reason' in item ? item.reason : undefined);
    assert.notEqual(result.responder.fingerprintSha256, issuer.fingerprintSha256);
    assert.ok(result.responder.extKeyUsage.includes('1.3.6.1.5.5.7.3.9'));
  }
});

test('the 1970 answer is a raw "revoked" that means not issued by this CA', () => {
  const response = parseOcspResponse(read('ocsp/ocsp_response_individual_2015.bin'));
  assert.equal(response.responses[0]?.status, 'revoked');
  assert.equal(response.responses[0]?.revokedAt?.getTime(), 0);
});

test('before its revocation the first head was good; later the response is stale', () => {
  const item = cases[2];
  const response = parseOcspResponse(read(`ocsp/${item.response}`));
  const issuer = cert(item.issuer);
  const before = new Date('2022-07-27T00:00:00Z');
  assert.equal(checkOcspResponse(response, item.cert(), issuer, { at: before }).status, 'good');
  const late = new Date('2022-09-28T00:00:00Z');
  assert.throws(
    () => checkOcspResponse(response, item.cert(), issuer, { at: late }),
    isCode('ocsp.stale'),
  );
  const lenient = checkOcspResponse(response, item.cert(), issuer, {
    at: late,
    maxAgeMs: 30 * 86_400_000,
  });
  assert.equal(lenient.status, 'revoked');
});

test('a response about another certificate or from another CA is refused', () => {
  const response = parseOcspResponse(read('ocsp/ocsp_response_individual_sign_2004.bin'));
  const issuer = cert('ca/nca_rsa_test.crt');
  const other = cert('certs/individual_valid_sign_2004_rsa.cer');
  assert.throws(
    () => checkOcspResponse(response, other, issuer, { at: SEPT_2 }),
    isCode('ocsp.cert_mismatch'),
  );
  const wrongCa = cert('ca/nca_gost_test.crt');
  assert.throws(
    () => checkOcspResponse(response, other, wrongCa, { at: SEPT_2 }),
    isCode('ocsp.responder_untrusted'),
  );
});

test('a damaged response signature is detected', () => {
  const der = read('ocsp/ocsp_response_individual_sign_2004.bin');
  const response = parseOcspResponse(der);
  const signature = Uint8Array.from(response.signature ?? []);
  signature[10] = (signature[10] as number) ^ 1;
  const item = cases[0];
  assert.throws(
    () =>
      checkOcspResponse({ ...response, signature }, item.cert(), cert(item.issuer), { at: SEPT_2 }),
    isCode('ocsp.signature_invalid'),
  );
});

test('nonce: the NCA responses carry one that the caller can only check with its request', () => {
  const item = cases[0];
  const response = parseOcspResponse(read(`ocsp/${item.response}`));
  assert.equal(Buffer.from(response.nonce ?? []).toString('hex'), '0408b5e5c9b552cbcac4');
  const options = { at: SEPT_2, nonce: Uint8Array.of(4, 2, 1, 2) };
  assert.throws(
    () => checkOcspResponse(response, item.cert(), cert(item.issuer), options),
    isCode('ocsp.nonce_mismatch'),
  );
  const matching = { at: SEPT_2, nonce: response.nonce as Uint8Array };
  assert.equal(
    checkOcspResponse(response, item.cert(), cert(item.issuer), matching).status,
    'good',
  );
});

interface Responder {
  ca: Certificate;
  caKey: TestKey;
  leaf: Certificate;
  responderCert: Certificate;
  responderKey: TestKey;
}

function responderSetup(extKeyUsage = ['1.3.6.1.5.5.7.3.9']): Responder {
  const { ca, caKey, leaf } = smallPki();
  const responderKey = newKey();
  const responderCert = issue({
    subject: 'Test OCSP',
    key: responderKey,
    extKeyUsage,
    issuer: { cert: ca, key: caKey },
  });
  return { ca, caKey, leaf, responderCert, responderKey };
}

const AT = new Date('2024-03-01T12:00:00Z');

function answer(setup: Responder, request: Uint8Array, statusOf: (serial: string) => StatusAnswer) {
  return parseOcspResponse(
    signOcspResponse({
      responderCert: setup.responderCert,
      issuer: setup.ca,
      sign: signer(setup.responderKey),
      signatureAlgorithm: ECDSA_SHA256,
      request,
      statusOf,
      producedAt: AT,
      nextUpdate: new Date('2024-03-02T12:00:00Z'),
    }),
  );
}

test('demo responder: a CertID whose hash parameters are not NULL is a malformed request', () => {
  const setup = responderSetup();
  const der = Uint8Array.from(createOcspRequest({ cert: setup.leaf, issuer: setup.ca }).der);
  const sha1 = [0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00];
  const at = der.findIndex((_, index) => sha1.every((byte, k) => der[index + k] === byte));
  assert.ok(at > 0, 'the request names SHA-1 with NULL parameters');
  parseOcspRequest(der);
  der[at + 7] = 0x21;
  assert.throws(
    () => parseOcspRequest(der),
    (error: unknown) => error instanceof PkiError && error.code === 'ocsp.malformed',
  );
});

test('demo responder: request with nonce, echoed nonce, good and revoked statuses', () => {
  const setup = responderSetup();
  const request = createOcspRequest({ cert: setup.leaf, issuer: setup.ca, nonce: true });
  const parsed = parseOcspRequest(request.der);
  assert.equal(parsed.certIds[0]?.value?.serialHex, setup.leaf.serialHex);
  assert.equal(parsed.certIds[0]?.value?.hash, 'sha1');
  assert.deepEqual(parsed.nonce, request.nonce);
  const options = { at: AT, nonce: request.nonce as Uint8Array };
  const good = answer(setup, request.der, () => ({ status: 'good' }));
  assert.deepEqual(good.nonce, request.nonce);
  const goodResult = checkOcspResponse(good, setup.leaf, setup.ca, options);
  assert.equal(goodResult.status, 'good');
  assert.equal(goodResult.responder.fingerprintSha256, setup.responderCert.fingerprintSha256);
  const revokedAt = new Date('2024-02-01T00:00:00Z');
  const revoked = answer(setup, request.der, (serial) =>
    serial === setup.leaf.serialHex
      ? { status: 'revoked', revokedAt, reason: 'keyCompromise' }
      : { status: 'good' },
  );
  const revokedResult = checkOcspResponse(revoked, setup.leaf, setup.ca, options);
  assert.equal(revokedResult.status, 'revoked');
  assert.equal(revokedResult.reason, 'keyCompromise');
  assert.deepEqual(revokedResult.revokedAt, revokedAt);
  const otherRequest = createOcspRequest({ cert: setup.leaf, issuer: setup.ca, nonce: true });
  assert.throws(
    () =>
      checkOcspResponse(good, setup.leaf, setup.ca, {
        at: AT,
        nonce: otherRequest.nonce as Uint8Array,
      }),
    isCode('ocsp.nonce_mismatch'),
  );
  const later = new Date('2024-03-03T00:00:00Z');
  assert.throws(
    () => checkOcspResponse(good, setup.leaf, setup.ca, { at: later }),
    isCode('ocsp.stale'),
  );
});

test('nonce sent but absent from the answer: refused unless the caller allows it', () => {
  const setup = responderSetup();
  const plain = createOcspRequest({ cert: setup.leaf, issuer: setup.ca });
  assert.equal(plain.nonce, undefined);
  const response = answer(setup, plain.der, () => ({ status: 'good' }));
  assert.equal(response.nonce, undefined);
  const nonce = Uint8Array.of(4, 1, 7);
  assert.throws(
    () => checkOcspResponse(response, setup.leaf, setup.ca, { at: AT, nonce }),
    isCode('ocsp.nonce_mismatch'),
  );
  const allowed = { at: AT, nonce, allowMissingNonce: true };
  assert.equal(checkOcspResponse(response, setup.leaf, setup.ca, allowed).status, 'good');
});

test('the CA may answer itself; a responder without OCSPSigning or of another CA may not', () => {
  const setup = responderSetup();
  const request = createOcspRequest({ cert: setup.leaf, issuer: setup.ca, hash: 'sha256' });
  const bySelf = parseOcspResponse(
    signOcspResponse({
      responderCert: setup.ca,
      issuer: setup.ca,
      sign: signer(setup.caKey),
      signatureAlgorithm: ECDSA_SHA256,
      request: request.der,
      statusOf: () => ({ status: 'good' }),
      producedAt: AT,
    }),
  );
  assert.equal(bySelf.certs.length, 0);
  const selfResult = checkOcspResponse(bySelf, setup.leaf, setup.ca, { at: AT });
  assert.equal(selfResult.responder.fingerprintSha256, setup.ca.fingerprintSha256);
  const noEku = responderSetup(['1.3.6.1.5.5.7.3.4']);
  const noEkuRequest = createOcspRequest({ cert: noEku.leaf, issuer: noEku.ca });
  assert.throws(
    () =>
      checkOcspResponse(
        answer(noEku, noEkuRequest.der, () => ({ status: 'good' })),
        noEku.leaf,
        noEku.ca,
        { at: AT },
      ),
    isCode('ocsp.responder_untrusted'),
  );
  const stranger = responderSetup();
  const foreign = { ...stranger, ca: setup.ca, leaf: setup.leaf };
  assert.throws(
    () =>
      checkOcspResponse(
        answer(foreign, request.der, () => ({ status: 'good' })),
        setup.leaf,
        setup.ca,
        { at: AT },
      ),
    isCode('ocsp.responder_untrusted'),
  );
});

test('requests about another CA get unknown; garbage gets malformedRequest', () => {
  const setup = responderSetup();
  const other = smallPki();
  const request = createOcspRequest({ cert: other.leaf, issuer: other.ca });
  const response = answer(setup, request.der, () => ({ status: 'good' }));
  assert.equal(response.responses[0]?.status, 'unknown');
  const garbage = parseOcspResponse(
    signOcspResponse({
      responderCert: setup.responderCert,
      issuer: setup.ca,
      sign: signer(setup.responderKey),
      signatureAlgorithm: ECDSA_SHA256,
      request: Uint8Array.of(1, 2, 3),
      statusOf: () => ({ status: 'good' }),
      producedAt: AT,
    }),
  );
  assert.equal(garbage.responseStatus, 'malformedRequest');
  assert.throws(
    () => checkOcspResponse(garbage, setup.leaf, setup.ca, { at: AT }),
    isCode('ocsp.unsuccessful'),
  );
  assert.equal(parseOcspResponse(ocspErrorResponse('tryLater')).responseStatus, 'tryLater');
});

test('fuzz: random bytes and mutated OCSP responses and requests only raise PkiError', () => {
  const seeds = cases.map((item) => read(`ocsp/${item.response}`));
  const subject = cases[0].cert();
  const issuer = cert(cases[0].issuer);
  const requestSeed = createOcspRequest({ cert: subject, issuer, nonce: true }).der;
  fuzzParser(
    'ocsp',
    [...seeds, requestSeed],
    [
      (input) => checkOcspResponse(parseOcspResponse(input), subject, issuer, { at: SEPT_2 }),
      parseOcspRequest,
    ],
    { random: 400, randomMaxLength: 1024, mutated: 1000 },
  );
});
