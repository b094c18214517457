// Builds and signs X.509 v3 certificates in the NCA RK profile (names, key usage, policies,
// CRL and OCSP locations), for the demo CA, the platform TSA and tests.
import { createHash } from 'node:crypto';
import { decodeBer, der, readBitString } from './ber.js';
import { parseCertificate } from './certificate.js';
import type { Certificate } from './certificate.js';
import { PkiError } from './errors.js';
import { signatureParts, signData } from './keys.js';
import type { PrivateKey } from './keys.js';

/** Attribute types of distinguished names, with the string type NCA RK uses for each. */
const NAME_TYPES = {
  C: { oid: '2.5.4.6', encode: der.printable },
  CN: { oid: '2.5.4.3', encode: der.utf8 },
  SN: { oid: '2.5.4.4', encode: der.utf8 },
  SERIALNUMBER: { oid: '2.5.4.5', encode: der.printable },
  L: { oid: '2.5.4.7', encode: der.utf8 },
  ST: { oid: '2.5.4.8', encode: der.utf8 },
  O: { oid: '2.5.4.10', encode: der.utf8 },
  OU: { oid: '2.5.4.11', encode: der.utf8 },
  G: { oid: '2.5.4.42', encode: der.utf8 },
  E: { oid: '1.2.840.113549.1.9.1', encode: der.ia5 },
} as const;

export type NameType = keyof typeof NAME_TYPES;
export type NameSpec = readonly (readonly [NameType, string])[];

export function encodeName(name: NameSpec): Uint8Array {
  return der.sequence(
    ...name.map(([type, value]) => {
      const { oid, encode } = NAME_TYPES[type];
      return der.set(der.sequence(der.oid(oid), encode(value)));
    }),
  );
}

const KEY_USAGE_BITS = {
  digitalSignature: 0,
  nonRepudiation: 1,
  keyEncipherment: 2,
  dataEncipherment: 3,
  keyAgreement: 4,
  keyCertSign: 5,
  cRLSign: 6,
} as const;

export type KeyUsageName = keyof typeof KEY_USAGE_BITS;

function keyUsageBits(names: readonly KeyUsageName[]): Uint8Array {
  let mask = 0;
  for (const name of names) mask |= 0x80 >> KEY_USAGE_BITS[name];
  let lowest = -1;
  for (let bit = 7; bit >= 0; bit--) if (mask & (0x80 >> bit)) lowest = Math.max(lowest, bit);
  const unused = lowest < 0 ? 0 : 7 - lowest;
  return Uint8Array.of(0x03, 0x02, unused, mask);
}

export interface CertificateTemplate {
  /** Serial number as unsigned big-endian bytes. */
  readonly serial: Uint8Array;
  readonly subject: NameSpec;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** SubjectPublicKeyInfo DER of the certified key. */
  readonly publicKey: Uint8Array;
  readonly isCa?: boolean;
  readonly pathLength?: number;
  readonly keyUsage: readonly KeyUsageName[];
  readonly extKeyUsage?: readonly string[];
  /** RFC 3161 wants the TSA's extended key usage critical. */
  readonly extKeyUsageCritical?: boolean;
  readonly policies?: readonly string[];
  readonly crlUrl?: string;
  readonly ocspUrl?: string;
  readonly caIssuersUrl?: string;
}

export interface CertificateIssuer {
  readonly privateKey: PrivateKey;
  /** The issuer's certificate; absent for a self-signed root. */
  readonly certificate?: Certificate;
}

/** Key identifier: SHA-1 of the subjectPublicKey bits (RFC 5280 4.2.1.2 method 1). */
export function keyIdentifier(spkiDer: Uint8Array): Uint8Array {
  const spki = decodeBer(spkiDer, 'cert.malformed');
  return createHash('sha1').update(readBitString(spki.children[1], 'cert.malformed')).digest();
}

function extension(oid: string, critical: boolean, value: Uint8Array): Uint8Array {
  return der.sequence(
    der.oid(oid),
    ...(critical ? [der.boolean(true)] : []),
    der.octetString(value),
  );
}

const uri = (url: string) => der.implicitPrimitive(6, Buffer.from(url, 'latin1'));

function extensions(template: CertificateTemplate, issuerSpki: Uint8Array): Uint8Array[] {
  const list: Uint8Array[] = [];
  if (template.isCa) {
    const pathLength = template.pathLength === undefined ? [] : [der.integer(template.pathLength)];
    list.push(extension('2.5.29.19', true, der.sequence(der.boolean(true), ...pathLength)));
  }
  list.push(extension('2.5.29.15', true, keyUsageBits(template.keyUsage)));
  if (template.extKeyUsage !== undefined && template.extKeyUsage.length > 0) {
    const critical = template.extKeyUsageCritical === true;
    list.push(extension('2.5.29.37', critical, der.sequence(...template.extKeyUsage.map(der.oid))));
  }
  list.push(extension('2.5.29.14', false, der.octetString(keyIdentifier(template.publicKey))));
  list.push(
    extension(
      '2.5.29.35',
      false,
      der.sequence(der.implicitPrimitive(0, keyIdentifier(issuerSpki))),
    ),
  );
  if (template.policies !== undefined && template.policies.length > 0) {
    const policies = template.policies.map((p) => der.sequence(der.oid(p)));
    list.push(extension('2.5.29.32', false, der.sequence(...policies)));
  }
  if (template.crlUrl !== undefined) {
    const point = der.sequence(der.explicit(0, der.implicitConstructed(0, uri(template.crlUrl))));
    list.push(extension('2.5.29.31', false, der.sequence(point)));
  }
  const access: Uint8Array[] = [];
  if (template.caIssuersUrl !== undefined) {
    access.push(der.sequence(der.oid('1.3.6.1.5.5.7.48.2'), uri(template.caIssuersUrl)));
  }
  if (template.ocspUrl !== undefined) {
    access.push(der.sequence(der.oid('1.3.6.1.5.5.7.48.1'), uri(template.ocspUrl)));
  }
  if (access.length > 0) list.push(extension('1.3.6.1.5.5.7.1.1', false, der.sequence(...access)));
  return list;
}

/** Builds, signs and parses a certificate. */
export function buildCertificate(
  template: CertificateTemplate,
  issuer: CertificateIssuer,
): Certificate {
  if (template.notAfter <= template.notBefore) {
    throw new PkiError('cert.template', 'notAfter must follow notBefore');
  }
  const issuerName = issuer.certificate?.subjectDer ?? encodeName(template.subject);
  const issuerSpki = issuer.certificate ? spkiDerOf(issuer.certificate) : template.publicKey;
  const algorithm = signatureParts(issuer.privateKey.algorithm).signatureAlgorithm;
  const tbs = der.sequence(
    der.explicit(0, der.integer(2)),
    der.unsignedInteger(template.serial),
    algorithm,
    issuerName,
    der.sequence(der.time(template.notBefore), der.time(template.notAfter)),
    encodeName(template.subject),
    template.publicKey,
    der.explicit(3, der.sequence(...extensions(template, issuerSpki))),
  );
  const signature = signData(issuer.privateKey, tbs);
  return parseCertificate(der.sequence(tbs, algorithm, der.bitString(signature)));
}

/** SubjectPublicKeyInfo DER of a parsed certificate, read from its TBS bytes. */
export function spkiDerOf(certificate: Certificate): Uint8Array {
  const tbs = decodeBer(certificate.tbs, 'cert.malformed');
  const offset = tbs.children[0]?.tag === 0xa0 ? 1 : 0;
  const spki = tbs.children[offset + 5];
  if (spki === undefined) throw new PkiError('cert.malformed', 'certificate without a key');
  return spki.bytes;
}
