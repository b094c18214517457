// A tiny certificate issuer for PKI unit tests: ECDSA P-256 keys and certificates with chosen
// names, dates and extensions, to reach path, CRL and OCSP cases the NCA vectors do not cover.

import { generateKeyPairSync, randomBytes, sign as nodeSign, type KeyObject } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  AuthorityInfoAccessSyntax,
  AccessDescription,
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate as AsnCertificate,
  CRLDistributionPoints,
  DistributionPoint,
  DistributionPointName,
  ExtendedKeyUsage,
  Extension,
  Extensions,
  GeneralName,
  KeyIdentifier,
  KeyUsage,
  KeyUsageFlags,
  Name,
  RelativeDistinguishedName,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
} from '@peculiar/asn1-x509';
import { parseCertificate, type Certificate } from '../../src/pki/certificate.js';

export const ECDSA_SHA256 = new AlgorithmIdentifier({ algorithm: '1.2.840.10045.4.3.2' });

export interface TestKey {
  privateKey: KeyObject;
  spki: SubjectPublicKeyInfo;
  keyId: Uint8Array;
}

export function newKey(): TestKey {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = AsnConvert.parse(
    publicKey.export({ format: 'der', type: 'spki' }),
    SubjectPublicKeyInfo,
  );
  return { privateKey, spki, keyId: new Uint8Array(randomBytes(20)) };
}

export function signer(key: TestKey): (tbs: Uint8Array) => Uint8Array {
  return (tbs) => new Uint8Array(nodeSign('sha256', tbs, key.privateKey));
}

export function name(commonName: string): Name {
  return new Name([
    new RelativeDistinguishedName([
      new AttributeTypeAndValue({
        type: '2.5.4.3',
        value: new AttributeValue({ utf8String: commonName }),
      }),
    ]),
  ]);
}

function extension(extnID: string, value: unknown, critical = false): Extension {
  return new Extension({
    extnID,
    critical,
    extnValue: new OctetString(AsnConvert.serialize(value)),
  });
}

export interface IssueOptions {
  subject: string;
  key: TestKey;
  issuer?: { cert: Certificate; key: TestKey };
  notBefore?: Date;
  notAfter?: Date;
  ca?: boolean;
  pathLen?: number;
  keyUsage?: number;
  extKeyUsage?: string[];
  serialHex?: string;
  ocspUrl?: string;
  crlUrl?: string;
  extraExtensions?: Extension[];
  omitBasicConstraints?: boolean;
  /** An X.509 v1 certificate: no extensions at all. */
  version1?: boolean;
}

/** Issues (or self-signs, without `issuer`) a certificate and parses it. */
export function issue(options: IssueOptions): Certificate {
  const issuerName = options.issuer
    ? AsnConvert.parse(options.issuer.cert.subjectDer, Name)
    : name(options.subject);
  const issuerKey = options.issuer?.key ?? options.key;
  const ca = options.ca ?? false;
  const extensions: Extension[] = [];
  if (!options.omitBasicConstraints) {
    const constraints = new BasicConstraints({ cA: ca });
    if (options.pathLen !== undefined) constraints.pathLenConstraint = options.pathLen;
    extensions.push(extension('2.5.29.19', constraints, true));
  }
  const usage =
    options.keyUsage ??
    (ca
      ? KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign
      : KeyUsageFlags.digitalSignature | KeyUsageFlags.nonRepudiation);
  extensions.push(extension('2.5.29.15', new KeyUsage(usage), true));
  if (options.extKeyUsage) {
    extensions.push(extension('2.5.29.37', new ExtendedKeyUsage(options.extKeyUsage)));
  }
  extensions.push(extension('2.5.29.14', new SubjectKeyIdentifier(options.key.keyId)));
  extensions.push(
    extension(
      '2.5.29.35',
      new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(issuerKey.keyId) }),
    ),
  );
  if (options.ocspUrl) {
    const access = new AccessDescription({
      accessMethod: '1.3.6.1.5.5.7.48.1',
      accessLocation: new GeneralName({ uniformResourceIdentifier: options.ocspUrl }),
    });
    extensions.push(extension('1.3.6.1.5.5.7.1.1', new AuthorityInfoAccessSyntax([access])));
  }
  if (options.crlUrl) {
    const point = new DistributionPoint({
      distributionPoint: new DistributionPointName({
        fullName: [new GeneralName({ uniformResourceIdentifier: options.crlUrl })],
      }),
    });
    extensions.push(extension('2.5.29.31', new CRLDistributionPoints([point])));
  }
  extensions.push(...(options.extraExtensions ?? []));
  const serial = options.serialHex ?? `1${randomBytes(8).toString('hex')}`;
  const tbs = new TBSCertificate({
    version: options.version1 ? Version.v1 : Version.v3,
    serialNumber: Uint8Array.from(Buffer.from(serial, 'hex')).buffer,
    signature: ECDSA_SHA256,
    issuer: issuerName,
    validity: new Validity({
      notBefore: options.notBefore ?? new Date('2022-01-01T00:00:00Z'),
      notAfter: options.notAfter ?? new Date('2030-01-01T00:00:00Z'),
    }),
    subject: name(options.subject),
    subjectPublicKeyInfo: options.key.spki,
  });
  if (!options.version1) tbs.extensions = new Extensions(extensions);
  const tbsDer = new Uint8Array(AsnConvert.serialize(tbs));
  const signature = signer(issuerKey)(tbsDer);
  const cert = new AsnCertificate({
    tbsCertificate: tbs,
    signatureAlgorithm: ECDSA_SHA256,
    signatureValue: Uint8Array.from(signature).buffer,
  });
  return parseCertificate(new Uint8Array(AsnConvert.serialize(cert)));
}

/** Root, issuing CA and an end certificate, all valid 2022-2030. */
export function smallPki(leafOptions: Partial<IssueOptions> = {}) {
  const rootKey = newKey();
  const root = issue({ subject: 'Test Root', key: rootKey, ca: true });
  const caKey = newKey();
  const ca = issue({
    subject: 'Test CA',
    key: caKey,
    ca: true,
    issuer: { cert: root, key: rootKey },
  });
  const leafKey = newKey();
  const leaf = issue({
    subject: 'Test Person',
    key: leafKey,
    extKeyUsage: ['1.3.6.1.5.5.7.3.4', '1.2.398.3.3.4.1.1'],
    issuer: { cert: ca, key: caKey },
    ...leafOptions,
  });
  return { root, rootKey, ca, caKey, leaf, leafKey };
}
