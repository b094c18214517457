// Signature verification speed on the NCA RK vectors: one GOST 2015-512, GOST 2004 and RSA-2048
// check, a full CMS verification with warm chain and revocation caches, and crypto-gost-js on the
// same GOST 2015-512 check in the same run. Target: GOST 2015-512 verification at most 3 ms.
import { readdirSync, readFileSync } from 'node:fs';
import { AsnConvert } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import { verifySignature } from '../src/pki/algorithms.js';
import { parseCms } from '../src/pki/cms.js';
import { PkiError } from '../src/pki/errors.js';
import { loadTrustStore } from '../src/pki/trust.js';
import { verifyCms } from '../src/pki/verify.js';
import { revocationCheck } from '../src/services/pki.js';
import { benchGost } from './gost.js';
import { median } from './machine.js';

const VECTORS = new URL('../../shared/kz-eds-vectors/', import.meta.url);
const read = (path: string) => new Uint8Array(readFileSync(new URL(path, VECTORS)));
const TARGET_GOST2015_512_MS = 3;
const AT = new Date('2022-09-28T00:00:00Z');

/** Median milliseconds of one call over `rounds` samples of `batch` calls, after warm-up. */
async function medianMs(
  run: () => unknown,
  rounds: number,
  batch: number,
): Promise<{ ms: number; runs: number }> {
  for (let i = 0; i < Math.max(3, batch); i++) await run();
  const samples: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const start = performance.now();
    for (let i = 0; i < batch; i++) await run();
    samples.push((performance.now() - start) / batch);
  }
  return { ms: Math.round(median(samples) * 1000) / 1000, runs: rounds * batch };
}

/** The RSA-2048 signer of the two-signer vector: the signed attributes and the signature. */
function rsaSignerCheck() {
  const cms = parseCms(read('cms/cms_attached_2signers_test123.p7s'));
  const certificate = cms.certificates.find((c) => !c.isCa && c.profile.algorithm === 'rsa');
  const signer = cms.signers.find(
    (s) =>
      'serial' in s.sid &&
      certificate !== undefined &&
      s.sid.serial.toString(16) === certificate.serialHex,
  );
  if (certificate === undefined || signer?.signedAttributesDer === undefined) {
    throw new Error('the vector has no RSA signer');
  }
  return {
    algorithm: AsnConvert.parse(signer.signatureAlgorithm.bytes, AlgorithmIdentifier),
    spki: certificate.spki,
    signed: signer.signedAttributesDer,
    signature: signer.signature,
  };
}

export async function benchPki(): Promise<object> {
  const gost = await benchGost();
  const rsa = rsaSignerCheck();
  if (!verifySignature(rsa.algorithm, rsa.spki, rsa.signed, rsa.signature)) {
    throw new Error('benchmark RSA signature does not verify');
  }
  const rsaVerify = await medianMs(
    () => verifySignature(rsa.algorithm, rsa.spki, rsa.signed, rsa.signature),
    40,
    20,
  );

  const trust = loadTrustStore(new URL('ca', VECTORS).pathname, 'custom');
  const offlineCrls = readdirSync(new URL('crl', VECTORS)).map((name) => read(`crl/${name}`));
  // No network: a source that would need one fails at once, as it would when unreachable.
  const revocation = revocationCheck(
    { revocation: ['ocsp', 'crl'], ocspUrls: [], crlUrls: [] },
    { now: () => AT },
    {
      offlineCrls,
      network: () => Promise.reject(new PkiError('revocation.http_error', 'offline benchmark')),
    },
  );
  const cms = read('cms/cms_attached_2signers_test123.p7s');
  const full = () => verifyCms(cms, { trust, at: AT, revocation });
  const first = await full();
  const gostSigner = first.signers[0];
  if (gostSigner?.chain.trusted !== true || gostSigner.revocation.status !== 'good') {
    throw new Error('the CMS benchmark input does not verify as the vector README says');
  }
  const cmsVerify = await medianMs(full, 30, 5);

  const ours = gost.gost2015_512_hash_and_verify_certificate_same_rounds_ms ?? Number.NaN;
  const theirs = gost.cryptogostjs_2015_512_hash_and_verify_certificate_ms ?? Number.NaN;
  const gost2015 = gost.gost2015_512_verify_ms ?? Number.NaN;
  return {
    description:
      'median ms of one signature verification on NCA RK test material (after warm-up): ' +
      'GOST 2015-512 (nca_gost2022_test.cer signed by its root; digest given), GOST 2004 ' +
      '(nca_gost_test.crt by root_gost_test.crt), RSA-2048 (the RSA signer of ' +
      'cms_attached_2signers_test123.p7s, SHA-256 over the signed attributes); full CMS = ' +
      'verifyCms of that file at 2022-09-28 with the vectors ca/ folder as trust and the offline ' +
      'CRLs, chain and revocation caches warm (two signers: GOST 2015-512 and RSA)',
    gost2015_512_verify_ms: gost2015,
    gost2004_verify_ms: gost.gost2004_verify_ms,
    rsa2048_verify_ms: rsaVerify.ms,
    cms_full_verify_warm_ms: cmsVerify.ms,
    comparison: {
      what: 'the same GOST 2015-512 certificate check (Streebog-512 of the TBS and verification)',
      upp_ms: ours,
      crypto_gost_js_ms: theirs,
      crypto_gost_js_over_upp: Math.round((theirs / ours) * 10) / 10,
    },
    target: {
      gost2015_512_verify_ms_at_most: TARGET_GOST2015_512_MS,
      met: gost2015 <= TARGET_GOST2015_512_MS,
    },
    runs: { rsa2048: rsaVerify.runs, cmsFull: cmsVerify.runs },
    gost,
  };
}
