// Shared material for the CMS, signing and time-stamp tests: the NCA RK vector files and small
// throw-away CAs with fresh keys of each algorithm.
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { buildCertificate } from '../../src/pki/certificate-builder.js';
import type { KeyUsageName, NameSpec } from '../../src/pki/certificate-builder.js';
import type { Certificate } from '../../src/pki/certificate.js';
import { generatePrivateKey, subjectPublicKeyInfo } from '../../src/pki/keys.js';
import type { KeyAlgorithm, PrivateKey } from '../../src/pki/keys.js';
import { openPkcs12 } from '../../src/pki/pkcs12.js';

export const VECTORS = new URL('../../../shared/kz-eds-vectors/', import.meta.url);

export function readVector(path: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(path, VECTORS)));
}

export const VECTOR_STORES = {
  rsa: { file: 'p12/ncanode/individual_valid_sign_2004_rsa.p12', password: 'Qwerty12' },
  gost2004: { file: 'p12/ncanode/ceo_sign_revoked_2004.p12', password: 'Qwerty12' },
  'gost2015-512': { file: 'p12/ncanode/individual_valid_2015_gost2015.p12', password: 'Aa123456' },
} as const;

export function vectorSigner(algorithm: keyof typeof VECTOR_STORES) {
  const store = VECTOR_STORES[algorithm];
  return openPkcs12(readVector(store.file), store.password);
}

export interface TestIssuer {
  readonly privateKey: PrivateKey;
  readonly certificate: Certificate;
}

export const FIXED_START = new Date('2025-01-01T00:00:00Z');
export const FIXED_END = new Date('2030-01-01T00:00:00Z');

export function testRoot(algorithm: KeyAlgorithm, name = `TEST ROOT ${algorithm}`): TestIssuer {
  const privateKey = generatePrivateKey(algorithm);
  const certificate = buildCertificate(
    {
      serial: randomBytes(16),
      subject: [
        ['C', 'KZ'],
        ['CN', name],
      ],
      notBefore: FIXED_START,
      notAfter: FIXED_END,
      publicKey: subjectPublicKeyInfo(privateKey),
      isCa: true,
      keyUsage: ['keyCertSign', 'cRLSign'],
    },
    { privateKey },
  );
  return { privateKey, certificate };
}

export function testLeaf(
  issuer: TestIssuer,
  algorithm: KeyAlgorithm,
  options: {
    subject?: NameSpec;
    extKeyUsage?: string[];
    extKeyUsageCritical?: boolean;
    keyUsage?: KeyUsageName[];
  } = {},
): TestIssuer {
  const privateKey = generatePrivateKey(algorithm);
  const certificate = buildCertificate(
    {
      serial: randomBytes(16),
      subject: options.subject ?? [
        ['CN', 'ТЕСТОВ ТЕСТ'],
        ['SERIALNUMBER', 'IIN123456789011'],
        ['C', 'KZ'],
      ],
      notBefore: FIXED_START,
      notAfter: FIXED_END,
      publicKey: subjectPublicKeyInfo(privateKey),
      keyUsage: options.keyUsage ?? ['digitalSignature', 'nonRepudiation'],
      extKeyUsage: options.extKeyUsage ?? ['1.3.6.1.5.5.7.3.4', '1.2.398.3.3.4.1.1'],
      extKeyUsageCritical: options.extKeyUsageCritical,
    },
    issuer,
  );
  return { privateKey, certificate };
}
