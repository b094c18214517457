// CMS signing: round trips with the NCA RK vector keys and with fresh keys of every algorithm,
// co-signing, tampering, and interoperability with `openssl cms` for RSA.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addCmsSigner, signCms } from '../../src/pki/cms-sign.js';
import { checkCmsSignatures, CMS_OIDS, parseCms } from '../../src/pki/cms.js';
import { PkiError } from '../../src/pki/errors.js';
import type { KeyAlgorithm } from '../../src/pki/keys.js';
import { testLeaf, testRoot, vectorSigner, VECTOR_STORES } from './pki-sign-fixtures.js';

const CONTENT = new TextEncoder().encode('{"action":"bid","amount":"1000.00"}');
const AT = new Date('2022-09-28T00:00:00Z');

for (const algorithm of Object.keys(VECTOR_STORES) as (keyof typeof VECTOR_STORES)[]) {
  for (const detached of [false, true]) {
    test(`signs ${detached ? 'detached' : 'attached'} with the ${algorithm} vector key`, () => {
      const store = vectorSigner(algorithm);
      const signed = signCms({
        content: CONTENT,
        detached,
        signingTime: AT,
        signers: [{ ...store }],
      });
      const cms = parseCms(signed);
      assert.equal(cms.content === undefined, detached);
      const [result] = checkCmsSignatures(cms, { content: detached ? CONTENT : undefined });
      assert.ok(result);
      assert.deepEqual(result.errors, []);
      assert.equal(result.signatureValid, true);
      assert.equal(result.signatureAlgorithm, algorithm === 'rsa' ? 'rsa-pkcs1-sha256' : algorithm);
      assert.equal(result.signingTime?.toISOString(), AT.toISOString());
      assert.equal(result.certificate?.fingerprintSha256, store.certificate.fingerprintSha256);
      const attributes = cms.signers[0]?.signedAttributes?.map((a) => a.oid) ?? [];
      assert.ok(attributes.includes(CMS_OIDS.signingCertificateV2));
    });
  }
}

const FRESH: KeyAlgorithm[] = ['rsa', 'gost2015-256', 'gost2015-512', 'gost2004'];

for (const algorithm of FRESH) {
  test(`signs and verifies with a fresh ${algorithm} key`, () => {
    const leaf = testLeaf(testRoot(algorithm), algorithm);
    const signed = signCms({ content: CONTENT, detached: false, signingTime: AT, signers: [leaf] });
    const [result] = checkCmsSignatures(parseCms(signed));
    assert.equal(result?.signatureValid, true, JSON.stringify(result?.errors));
  });
}

test('an RSA and a GOST co-signer in one message both verify; order is kept per signer', () => {
  const rsa = vectorSigner('rsa');
  const gost = vectorSigner('gost2015-512');
  const both = signCms({ content: CONTENT, detached: true, signingTime: AT, signers: [gost, rsa] });
  const results = checkCmsSignatures(parseCms(both), { content: CONTENT });
  assert.equal(results.length, 2);
  assert.ok(results.every((r) => r.signatureValid));
  const algorithms = results.map((r) => r.signatureAlgorithm).sort();
  assert.deepEqual(algorithms, ['gost2015-512', 'rsa-pkcs1-sha256']);
});

test('addCmsSigner adds a co-signer and leaves the first signature untouched', () => {
  const rsa = vectorSigner('rsa');
  const gost = vectorSigner('gost2004');
  const first = signCms({ content: CONTENT, detached: false, signingTime: AT, signers: [rsa] });
  const second = addCmsSigner(first, { signer: gost, signingTime: AT });
  const before = parseCms(first).signers[0]?.bytes;
  const after = parseCms(second);
  assert.ok(after.signers.some((s) => before && Buffer.from(s.bytes).equals(Buffer.from(before))));
  const results = checkCmsSignatures(after);
  assert.equal(results.length, 2);
  assert.ok(results.every((r) => r.signatureValid));
});

test('addCmsSigner on a detached message needs the content', () => {
  const rsa = vectorSigner('rsa');
  const detached = signCms({ content: CONTENT, detached: true, signingTime: AT, signers: [rsa] });
  assert.throws(() => addCmsSigner(detached, { signer: rsa, signingTime: AT }), {
    code: 'cms.content_missing',
  });
  const cosigned = addCmsSigner(detached, {
    signer: vectorSigner('gost2015-512'),
    signingTime: AT,
    content: CONTENT,
  });
  const results = checkCmsSignatures(parseCms(cosigned), { content: CONTENT });
  assert.ok(results.every((r) => r.signatureValid));
});

test('changed content gives digest.mismatch, a changed signature gives signature.invalid', () => {
  for (const algorithm of ['rsa', 'gost2015-512'] as const) {
    const signer = vectorSigner(algorithm);
    const signed = signCms({
      content: CONTENT,
      detached: true,
      signingTime: AT,
      signers: [signer],
    });
    const other = new TextEncoder().encode('{"action":"bid","amount":"9000.00"}');
    const [wrongContent] = checkCmsSignatures(parseCms(signed), { content: other });
    assert.equal(wrongContent?.signatureValid, false);
    assert.deepEqual(
      wrongContent?.errors.map((e) => e.code),
      ['digest.mismatch'],
    );
    const cms = parseCms(signed);
    const signature = cms.signers[0]?.signature as Uint8Array;
    const copy = Uint8Array.from(signed);
    const at = Buffer.from(copy).indexOf(Buffer.from(signature));
    copy[at + 5] = (copy[at + 5] as number) ^ 0x01;
    const [badSignature] = checkCmsSignatures(parseCms(copy), { content: CONTENT });
    assert.equal(badSignature?.signatureValid, false);
    assert.deepEqual(
      badSignature?.errors.map((e) => e.code),
      ['signature.invalid'],
    );
  }
});

test('a key is refused with a certificate not its own, also after signing with its own', () => {
  const rsa = vectorSigner('rsa');
  const other = vectorSigner('gost2015-512');
  signCms({ content: CONTENT, detached: false, signingTime: AT, signers: [other] });
  assert.throws(
    () =>
      signCms({
        content: CONTENT,
        detached: false,
        signingTime: AT,
        signers: [{ privateKey: other.privateKey, certificate: rsa.certificate }],
      }),
    (e: unknown) => e instanceof PkiError && e.code === 'sign.key_mismatch',
  );
});

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test('openssl cms verifies an RSA signature made here', { skip: !hasOpenssl() }, () => {
  const rsa = vectorSigner('rsa');
  const signed = signCms({ content: CONTENT, detached: false, signingTime: AT, signers: [rsa] });
  const dir = mkdtempSync(join(tmpdir(), 'upp-cms-'));
  try {
    writeFileSync(join(dir, 'm.p7s'), signed);
    const out = execFileSync(
      'openssl',
      ['cms', '-verify', '-noverify', '-binary', '-inform', 'DER', '-in', join(dir, 'm.p7s')],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    assert.deepEqual(new Uint8Array(out), CONTENT);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
