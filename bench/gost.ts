// GOST speed: Streebog, signature verification on the three NCA RK algorithms, and the same
// real-certificate check done with @wavesenterprise/crypto-gost-js for comparison.
// `node --import tsx bench/gost.ts` prints the figures as JSON.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import {
  gostDigest,
  gostGenerateKey,
  gostSign,
  gostVerify,
  type GostAlgorithm,
} from '../src/pki/gost/index.js';

const VECTORS = new URL('../../shared/kz-eds-vectors/', import.meta.url);

interface CertificateCheck {
  publicKey: Uint8Array;
  tbs: Uint8Array;
  signature: Uint8Array;
}

function readCertificate(path: string): Certificate {
  let raw = readFileSync(new URL(path, VECTORS));
  if (raw[0] === 0x2d) {
    raw = Buffer.from(raw.toString('latin1').replace(/-----[^-]+-----|\s/g, ''), 'base64');
  }
  return AsnConvert.parse(raw, Certificate);
}

function certificateCheck(issuerPath: string, subjectPath: string): CertificateCheck {
  const issuer = readCertificate(issuerPath);
  const subject = readCertificate(subjectPath);
  const bits = issuer.tbsCertificate.subjectPublicKeyInfo.subjectPublicKey;
  return {
    publicKey: new Uint8Array(AsnConvert.parse(bits, OctetString).buffer),
    tbs: new Uint8Array(AsnConvert.serialize(subject.tbsCertificate)),
    signature: new Uint8Array(subject.signatureValue),
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const value = sorted.length % 2 ? sorted[mid] : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
  return Math.round((value ?? 0) * 1000) / 1000;
}

/**
 * Median milliseconds per call, wall clock and (as `<name>_cpu`) process CPU time, which is
 * steadier when other work shares the machine. Cases run interleaved, round by round, so a
 * burst of load affects all of them alike; each sample times `batch` calls.
 */
function measure(
  cases: Record<string, { run: () => unknown; batch: number }>,
  rounds: number,
): Record<string, number> {
  const wall: Record<string, number[]> = {};
  const cpu: Record<string, number[]> = {};
  for (const [name, c] of Object.entries(cases)) {
    wall[name] = [];
    cpu[name] = [];
    for (let i = 0; i < 3; i++) c.run();
  }
  for (let round = 0; round < rounds; round++) {
    for (const [name, c] of Object.entries(cases)) {
      const start = performance.now();
      const startCpu = process.cpuUsage();
      for (let i = 0; i < c.batch; i++) c.run();
      const usedCpu = process.cpuUsage(startCpu);
      wall[name]?.push((performance.now() - start) / c.batch);
      cpu[name]?.push((usedCpu.user + usedCpu.system) / 1000 / c.batch);
    }
  }
  const figures: Record<string, number> = {};
  for (const name of Object.keys(cases)) {
    figures[name] = median(wall[name] ?? []);
    figures[`${name}_cpu`] = median(cpu[name] ?? []);
  }
  return figures;
}

function mustVerify(
  algorithm: GostAlgorithm,
  publicKey: Uint8Array,
  digest: Uint8Array,
  signature: Uint8Array,
): void {
  if (!gostVerify(algorithm, publicKey, digest, signature)) {
    throw new Error(`benchmark input does not verify (${algorithm})`);
  }
}

interface ForeignSigner {
  verify(publicKey: ArrayBuffer, signature: ArrayBuffer, data: ArrayBuffer): boolean;
}

/** crypto-gost-js: GOST R 34.10-2012-512 on TC26 512 A with Streebog-512, its default byte order
 * (which is NCA's: public key x||y and signature r||s little-endian). */
function foreignVerifier(): ForeignSigner {
  const require = createRequire(import.meta.url);
  const lib = require('@wavesenterprise/crypto-gost-js') as {
    GostEngine: { getGostSign(algorithm: object): ForeignSigner };
  };
  return lib.GostEngine.getGostSign({
    name: 'GOST R 34.10',
    version: 2012,
    length: 512,
    namedCurve: 'T-512-A',
    hash: { name: 'GOST R 34.11', version: 2012, length: 512 },
  });
}

export async function benchGost(): Promise<Record<string, number>> {
  const kib = new Uint8Array(1024).map((_, i) => (i * 131) & 0xff);
  const cert2015 = certificateCheck('ca/root_test_gost_2022.cer', 'ca/nca_gost2022_test.cer');
  const digest2015 = gostDigest('gost2015-512', cert2015.tbs);
  mustVerify('gost2015-512', cert2015.publicKey, digest2015, cert2015.signature);
  const cert2004 = certificateCheck('ca/root_gost_test.crt', 'ca/nca_gost_test.crt');
  const digest2004 = gostDigest('gost2004', cert2004.tbs);
  mustVerify('gost2004', cert2004.publicKey, digest2004, cert2004.signature);
  // No GOST 2015-256 sample exists in the NCA material: use a generated key.
  const key256 = gostGenerateKey('gost2015-256');
  const digest256 = gostDigest('gost2015-256', kib);
  const signature256 = gostSign('gost2015-256', key256.privateKey, digest256);
  mustVerify('gost2015-256', key256.publicKey, digest256, signature256);
  const key512 = gostGenerateKey('gost2015-512');
  const digest512 = gostDigest('gost2015-512', kib);

  const foreign = foreignVerifier();
  const foreignArgs = [cert2015.publicKey, cert2015.signature, cert2015.tbs].map((b) =>
    b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength),
  ) as [ArrayBuffer, ArrayBuffer, ArrayBuffer];
  if (!foreign.verify(...foreignArgs)) throw new Error('crypto-gost-js did not verify');

  const fast = measure(
    {
      streebog512_1KiB_ms: { run: () => gostDigest('gost2015-512', kib), batch: 50 },
      gost2015_512_verify_ms: {
        run: () => gostVerify('gost2015-512', cert2015.publicKey, digest2015, cert2015.signature),
        batch: 5,
      },
      gost2015_512_hash_and_verify_certificate_ms: {
        run: () =>
          gostVerify(
            'gost2015-512',
            cert2015.publicKey,
            gostDigest('gost2015-512', cert2015.tbs),
            cert2015.signature,
          ),
        batch: 2,
      },
      gost2004_verify_ms: {
        run: () => gostVerify('gost2004', cert2004.publicKey, digest2004, cert2004.signature),
        batch: 4,
      },
      gost2015_256_verify_ms: {
        run: () => gostVerify('gost2015-256', key256.publicKey, digest256, signature256),
        batch: 4,
      },
      gost2015_512_sign_ms: {
        run: () => gostSign('gost2015-512', key512.privateKey, digest512),
        batch: 2,
      },
    },
    40,
  );
  const foreignFigures = measure(
    {
      cryptogostjs_2015_512_hash_and_verify_certificate_ms: {
        run: () => foreign.verify(...foreignArgs),
        batch: 1,
      },
      gost2015_512_hash_and_verify_certificate_same_rounds_ms: {
        run: () =>
          gostVerify(
            'gost2015-512',
            cert2015.publicKey,
            gostDigest('gost2015-512', cert2015.tbs),
            cert2015.signature,
          ),
        batch: 1,
      },
    },
    15,
  );
  return { ...fast, ...foreignFigures };
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  console.log(JSON.stringify(await benchGost(), null, 2));
}
