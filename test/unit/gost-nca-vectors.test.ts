// GOST signatures made by NCA RK software: the test CA certificates (GOST 2015-512 and
// GOST 34.310-2004) and the GOST signer of a real CMS, checked through the public API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { Certificate, CertificateList } from '@peculiar/asn1-x509';
import { ContentInfo, SignedData } from '@peculiar/asn1-cms';
import { GOST_OIDS, gostDigest, gostVerify, type GostAlgorithm } from '../../src/pki/gost/index.js';

const VECTORS = new URL('../../../shared/kz-eds-vectors/', import.meta.url);
const MESSAGE_DIGEST_OID = '1.2.840.113549.1.9.4';

function readVector(path: string): Uint8Array {
  const raw = readFileSync(new URL(path, VECTORS));
  if (raw[0] !== 0x2d) return new Uint8Array(raw);
  const base64 = raw.toString('latin1').replace(/-----[^-]+-----|\s/g, '');
  return new Uint8Array(Buffer.from(base64, 'base64'));
}

function certificate(path: string): Certificate {
  return AsnConvert.parse(readVector(path), Certificate);
}

/** The x||y bytes inside the OCTET STRING that the SPKI BIT STRING holds. */
function publicKeyOf(cert: Certificate): Uint8Array {
  const bits = cert.tbsCertificate.subjectPublicKeyInfo.subjectPublicKey;
  return new Uint8Array(AsnConvert.parse(bits, OctetString).buffer);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** A DER element with the given tag byte around the content. */
function derElement(tag: number, content: Uint8Array): Uint8Array {
  const n = content.length;
  const length = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return concat([Uint8Array.of(tag, ...length), content]);
}

interface CertCase {
  algorithm: GostAlgorithm;
  issuer: string;
  subject: string;
}

const CERT_CASES: CertCase[] = [
  {
    algorithm: 'gost2015-512',
    issuer: 'ca/root_test_gost_2022.cer',
    subject: 'ca/root_test_gost_2022.cer',
  },
  {
    algorithm: 'gost2015-512',
    issuer: 'ca/root_test_gost_2022.cer',
    subject: 'ca/nca_gost2022_test.cer',
  },
  { algorithm: 'gost2004', issuer: 'ca/root_gost_test.crt', subject: 'ca/root_gost_test.crt' },
  { algorithm: 'gost2004', issuer: 'ca/root_gost_test.crt', subject: 'ca/nca_gost_test.crt' },
  {
    algorithm: 'gost2004',
    issuer: 'ca/nca_gost_test.crt',
    subject: 'certs/ceo_valid_sign_2004_gost.cer',
  },
  // Production NCA RK trust anchors of 2015-2025.
  {
    algorithm: 'gost2004',
    issuer: 'ca/prod-2015-2018/root_gost.crt',
    subject: 'ca/prod-2015-2018/root_gost.crt',
  },
  {
    algorithm: 'gost2004',
    issuer: 'ca/prod-2015-2018/root_gost.crt',
    subject: 'ca/prod-2015-2018/nca_gost.crt',
  },
];

function certSignatureInputs(c: CertCase): {
  publicKey: Uint8Array;
  digest: Uint8Array;
  signature: Uint8Array;
} {
  const issuer = certificate(c.issuer);
  const subject = certificate(c.subject);
  assert.equal(subject.signatureAlgorithm.algorithm, GOST_OIDS[c.algorithm].signature);
  const spki = issuer.tbsCertificate.subjectPublicKeyInfo;
  assert.equal(spki.algorithm.algorithm, GOST_OIDS[c.algorithm].key);
  const tbs = new Uint8Array(AsnConvert.serialize(subject.tbsCertificate));
  return {
    publicKey: publicKeyOf(issuer),
    digest: gostDigest(c.algorithm, tbs),
    signature: new Uint8Array(subject.signatureValue),
  };
}

for (const c of CERT_CASES) {
  test(`${c.subject} is signed by ${c.issuer} (${c.algorithm})`, () => {
    const { publicKey, digest, signature } = certSignatureInputs(c);
    assert.equal(gostVerify(c.algorithm, publicKey, digest, signature), true);
  });
}

for (const [algorithm, issuerPath, crlPath] of [
  ['gost2015-512', 'ca/nca_gost2022_test.cer', 'crl/nca_gost2022_test.crl'],
  ['gost2004', 'ca/nca_gost_test.crt', 'crl/nca_gost_test.crl'],
] as const) {
  test(`${crlPath} is signed by ${issuerPath} (${algorithm})`, () => {
    const crl = AsnConvert.parse(readVector(crlPath), CertificateList);
    assert.equal(crl.signatureAlgorithm.algorithm, GOST_OIDS[algorithm].signature);
    const tbs = new Uint8Array(AsnConvert.serialize(crl.tbsCertList));
    const publicKey = publicKeyOf(certificate(issuerPath));
    const signature = new Uint8Array(crl.signature);
    assert.equal(gostVerify(algorithm, publicKey, gostDigest(algorithm, tbs), signature), true);
  });
}

test('a certificate signature does not verify under the wrong key or for other bytes', () => {
  const [root2015, ca2015, root2004, ca2004] = CERT_CASES.map(certSignatureInputs);
  assert.ok(root2015 && ca2015 && root2004 && ca2004);
  assert.equal(
    gostVerify('gost2015-512', root2015.publicKey, root2015.digest, ca2015.signature),
    false,
  );
  assert.equal(
    gostVerify(
      'gost2004',
      publicKeyOf(certificate('ca/nca_gost_test.crt')),
      ca2004.digest,
      ca2004.signature,
    ),
    false,
  );
  assert.equal(
    gostVerify('gost2004', root2004.publicKey, root2004.digest, ca2004.signature),
    false,
  );
  // The same signature read in the RFC 4491 order (s||r big-endian) is refused.
  const reversed = Uint8Array.from(ca2015.signature).reverse();
  assert.equal(gostVerify('gost2015-512', root2015.publicKey, ca2015.digest, reversed), false);
});

test('single-byte mutations of a real signature, key or digest never verify', () => {
  const base = certSignatureInputs(CERT_CASES[1] as CertCase);
  fc.assert(
    fc.property(
      fc.constantFrom('publicKey', 'digest', 'signature' as const),
      fc.nat(),
      fc.integer({ min: 1, max: 255 }),
      (field, position, flip) => {
        const mutated = { ...base, [field]: base[field as keyof typeof base].slice() };
        const bytes = mutated[field as keyof typeof base];
        const at = position % bytes.length;
        bytes[at] = (bytes[at] as number) ^ flip;
        assert.equal(
          gostVerify('gost2015-512', mutated.publicKey, mutated.digest, mutated.signature),
          false,
        );
      },
    ),
    { numRuns: 30 },
  );
});

test('the GOST 2015-512 signer of the attached CMS: messageDigest and signature', () => {
  const info = AsnConvert.parse(readVector('cms/cms_attached_2signers_test123.p7s'), ContentInfo);
  const signed = AsnConvert.parse(info.content, SignedData);
  const content = new Uint8Array(readVector('cms/test123.txt'));
  assert.equal(new TextDecoder().decode(content), 'test123');

  const signer = signed.signerInfos.find(
    (s) => s.digestAlgorithm.algorithm === GOST_OIDS['gost2015-512'].digest,
  );
  assert.ok(signer, 'GOST signer present');
  assert.equal(signer.signatureAlgorithm.algorithm, GOST_OIDS['gost2015-512'].signature);

  const attribute = signer.signedAttrs?.find((a) => a.attrType === MESSAGE_DIGEST_OID);
  const value = attribute?.attrValues[0];
  assert.ok(value, 'messageDigest attribute present');
  const messageDigest = new Uint8Array(AsnConvert.parse(value, OctetString).buffer);
  assert.deepEqual(gostDigest('gost2015-512', content), messageDigest);

  // The signature covers DER(SET OF attributes): the [0] IMPLICIT field re-tagged as a SET.
  const attributes = (signer.signedAttrs ?? []).map((a) => new Uint8Array(AsnConvert.serialize(a)));
  const signedBytes = derElement(0x31, concat(attributes));
  // Rebuilt with the [0] tag, the bytes occur verbatim in the file: nothing was re-ordered.
  const original = readVector('cms/cms_attached_2signers_test123.p7s');
  const asImplicit = Uint8Array.from(signedBytes);
  asImplicit[0] = 0xa0;
  assert.ok(Buffer.from(original).includes(Buffer.from(asImplicit)));

  const cert = (signed.certificates ?? [])
    .map((choice) => choice.certificate)
    .find(
      (c) =>
        c?.tbsCertificate.subjectPublicKeyInfo.algorithm.algorithm ===
        GOST_OIDS['gost2015-512'].key,
    );
  assert.ok(cert, 'GOST signer certificate embedded');
  const publicKey = publicKeyOf(cert);
  const signature = new Uint8Array(signer.signature.buffer);
  const digest = gostDigest('gost2015-512', signedBytes);
  assert.equal(gostVerify('gost2015-512', publicKey, digest, signature), true);
  // The content digest alone is not what was signed.
  assert.equal(gostVerify('gost2015-512', publicKey, messageDigest, signature), false);
});
