// X.509 certificates: parses DER/PEM into a typed record with the fields path validation,
// revocation and the NCA profile need, keeping the raw bytes that signatures cover.

import { createHash } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  AuthorityInfoAccessSyntax,
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate as AsnCertificate,
  CertificatePolicies,
  CRLDistributionPoints,
  ExtendedKeyUsage,
  FreshestCRL,
  KeyUsage,
  Name,
  SubjectAlternativeName,
  SubjectKeyIdentifier,
  type Extension,
  type GeneralName,
  type SubjectPublicKeyInfo,
} from '@peculiar/asn1-x509';
import { PkiError } from './errors.js';
import { toDer } from './pem.js';
import { integerHex, readDer, toHex } from './ber.js';
import { signatureAlgorithmName, type SignatureAlgorithmName } from './algorithms.js';
import { readNcaProfile, type NcaProfile } from './profile.js';

/** Largest certificate accepted; real ones are a few kilobytes. */
export const MAX_CERTIFICATE_BYTES = 256 * 1024;

export interface NameAttribute {
  oid: string;
  /** Short name (CN, O, ...) when the attribute has one. */
  short?: string;
  value: string;
}

export interface DistinguishedName {
  /** Attributes in encoding order (RDN by RDN). */
  attributes: NameAttribute[];
  /** Readable form, `CN=..., C=KZ`, in encoding order. */
  text: string;
  commonName?: string;
}

/** What the extensions of a certificate say, as Certificate carries it. */
interface CertificateExtensionFields {
  isCa: boolean;
  pathLen?: number;
  /** Key usage bit names: digitalSignature, nonRepudiation, keyCertSign, crlSign, ... */
  keyUsage: string[];
  extKeyUsage: string[];
  policies: string[];
  /** Key identifiers as lowercase hex. */
  subjectKeyId?: string;
  authorityKeyId?: string;
  crlUrls: string[];
  /** Delta CRL locations from the freshest CRL extension. */
  deltaCrlUrls: string[];
  ocspUrls: string[];
  caIssuerUrls: string[];
  /** Critical extensions this module does not process; RFC 5280 forbids accepting them. */
  unhandledCriticalExtensions: string[];
}

export interface Certificate extends CertificateExtensionFields {
  der: Uint8Array;
  /** DER of tbsCertificate: the bytes the issuer signed. */
  tbs: Uint8Array;
  asn: AsnCertificate;
  /** Serial number as lowercase hex without sign-padding zeros. */
  serialHex: string;
  subject: DistinguishedName;
  issuer: DistinguishedName;
  subjectDer: Uint8Array;
  issuerDer: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  spki: SubjectPublicKeyInfo;
  fingerprintSha256: string;
  /** Signature algorithm of the issuer over this certificate (the OID when unknown). */
  signatureAlgorithm: SignatureAlgorithmName | string;
  selfIssued: boolean;
  profile: NcaProfile;
}

export const EXTENSION_OIDS = {
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  crlDistributionPoints: '2.5.29.31',
  certificatePolicies: '2.5.29.32',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  freshestCrl: '2.5.29.46',
  authorityInfoAccess: '1.3.6.1.5.5.7.1.1',
  ocspNoCheck: '1.3.6.1.5.5.7.48.1.5',
} as const;

const HANDLED_EXTENSIONS = new Set<string>(Object.values(EXTENSION_OIDS));

const ACCESS_METHOD = { ocsp: '1.3.6.1.5.5.7.48.1', caIssuers: '1.3.6.1.5.5.7.48.2' } as const;

const SHORT_NAMES: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.4': 'SN',
  '2.5.4.5': 'SERIALNUMBER',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.9': 'STREET',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.12': 'T',
  '2.5.4.42': 'G',
  '1.2.840.113549.1.9.1': 'E',
  '0.9.2342.19200300.100.1.25': 'DC',
};

function malformed(message: string, cause?: unknown): PkiError {
  return new PkiError('cert.malformed', message, cause === undefined ? undefined : { cause });
}

/** A Name from its DER encoding, with readable values. */
export function parseName(der: Uint8Array): DistinguishedName {
  const name = AsnConvert.parse(der, Name);
  const attributes: NameAttribute[] = [];
  for (const rdn of name) {
    for (const item of rdn) {
      const short = SHORT_NAMES[item.type];
      const value = item.value.toString();
      attributes.push(short ? { oid: item.type, short, value } : { oid: item.type, value });
    }
  }
  const text = attributes.map((item) => `${item.short ?? item.oid}=${item.value}`).join(', ');
  const commonName = attributes.find((item) => item.oid === '2.5.4.3')?.value;
  return commonName === undefined ? { attributes, text } : { attributes, text, commonName };
}

/** Normal form for comparing names (RFC 5280 7.1 in short: case and space folding). */
function foldedName(name: DistinguishedName): string {
  return name.attributes
    .map((item) => `${item.oid}=${item.value.normalize('NFKC').trim().replace(/\s+/g, ' ')}`)
    .join('\u0000')
    .toLowerCase();
}

/** Whether two encoded names denote the same entity. */
export function sameName(
  a: { der: Uint8Array; name: DistinguishedName },
  b: { der: Uint8Array; name: DistinguishedName },
): boolean {
  if (Buffer.from(a.der).equals(Buffer.from(b.der))) return true;
  return foldedName(a.name) === foldedName(b.name);
}

// NCA production CAs pack a second address into one URI ("http://a.crl\n URL=http://b.crl"),
// so every http(s) address inside a URI is taken.
function urls(names: GeneralName[] | undefined): string[] {
  return (names ?? []).flatMap(
    (name) => name.uniformResourceIdentifier?.match(/https?:\/\/\S+/g) ?? [],
  );
}

function distributionPointUrls(points: CRLDistributionPoints | FreshestCRL): string[] {
  return [...points].flatMap((point) => urls(point.distributionPoint?.fullName));
}

/** Extension fields plus the e-mail addresses the NCA profile reads from subjectAltName. */
interface ExtensionFields extends CertificateExtensionFields {
  emails: string[];
}

function readExtensions(extensions: Extension[]): ExtensionFields {
  const fields: ExtensionFields = {
    isCa: false,
    keyUsage: [],
    extKeyUsage: [],
    policies: [],
    crlUrls: [],
    deltaCrlUrls: [],
    ocspUrls: [],
    caIssuerUrls: [],
    emails: [],
    unhandledCriticalExtensions: [],
  };
  const seen = new Set<string>();
  for (const extension of extensions) {
    const oid = extension.extnID;
    if (seen.has(oid)) throw malformed(`extension ${oid} appears twice`);
    seen.add(oid);
    const value = extension.extnValue.buffer;
    switch (oid) {
      case EXTENSION_OIDS.basicConstraints: {
        const constraints = AsnConvert.parse(value, BasicConstraints);
        fields.isCa = constraints.cA;
        if (constraints.pathLenConstraint !== undefined) {
          fields.pathLen = constraints.pathLenConstraint;
        }
        break;
      }
      case EXTENSION_OIDS.keyUsage:
        fields.keyUsage = AsnConvert.parse(value, KeyUsage).toJSON();
        break;
      case EXTENSION_OIDS.extKeyUsage:
        fields.extKeyUsage = [...AsnConvert.parse(value, ExtendedKeyUsage)];
        break;
      case EXTENSION_OIDS.certificatePolicies:
        fields.policies = [...AsnConvert.parse(value, CertificatePolicies)].map(
          (policy) => policy.policyIdentifier,
        );
        break;
      case EXTENSION_OIDS.subjectKeyIdentifier:
        fields.subjectKeyId = toHex(
          new Uint8Array(AsnConvert.parse(value, SubjectKeyIdentifier).buffer),
        );
        break;
      case EXTENSION_OIDS.authorityKeyIdentifier: {
        const keyId = AsnConvert.parse(value, AuthorityKeyIdentifier).keyIdentifier;
        if (keyId) fields.authorityKeyId = toHex(new Uint8Array(keyId.buffer));
        break;
      }
      case EXTENSION_OIDS.crlDistributionPoints:
        fields.crlUrls = distributionPointUrls(AsnConvert.parse(value, CRLDistributionPoints));
        break;
      case EXTENSION_OIDS.freshestCrl:
        fields.deltaCrlUrls = distributionPointUrls(AsnConvert.parse(value, FreshestCRL));
        break;
      case EXTENSION_OIDS.authorityInfoAccess:
        for (const access of AsnConvert.parse(value, AuthorityInfoAccessSyntax)) {
          const [url] = urls([access.accessLocation]);
          if (url === undefined) continue;
          if (access.accessMethod === ACCESS_METHOD.ocsp) fields.ocspUrls.push(url);
          if (access.accessMethod === ACCESS_METHOD.caIssuers) fields.caIssuerUrls.push(url);
        }
        break;
      case EXTENSION_OIDS.subjectAltName:
        for (const name of AsnConvert.parse(value, SubjectAlternativeName)) {
          if (name.rfc822Name) fields.emails.push(name.rfc822Name);
        }
        break;
      default:
        if (extension.critical && !HANDLED_EXTENSIONS.has(oid)) {
          fields.unhandledCriticalExtensions.push(oid);
        }
    }
  }
  return fields;
}

function validDate(date: Date, what: string): Date {
  if (Number.isNaN(date.getTime())) throw malformed(`invalid ${what}`);
  return date;
}

/** Certificates already read, by the SHA-256 of their DER: every signed action carries a chain. */
const parsed = new Map<string, Certificate>();
const PARSED_KEPT = 10_000;

/** Parses a certificate given as DER, PEM or base64. Bad input gives PkiError('cert.malformed'). */
export function parseCertificate(input: Uint8Array | string): Certificate {
  const source = toDer(input, undefined, 'cert.malformed');
  if (source.length > MAX_CERTIFICATE_BYTES) throw malformed('certificate too large');
  const key = createHash('sha256').update(source).digest('hex');
  const known = parsed.get(key);
  if (known !== undefined) return known;
  let certificate: Certificate;
  try {
    certificate = Object.freeze(readCertificate(source));
  } catch (cause) {
    if (cause instanceof PkiError) throw cause;
    throw malformed('not a valid X.509 certificate', cause);
  }
  if (parsed.size >= PARSED_KEPT) parsed.delete(parsed.keys().next().value!);
  parsed.set(key, certificate);
  return certificate;
}

function readCertificate(source: Uint8Array): Certificate {
  const outer = readDer(source, 'cert.malformed');
  if (outer.tag !== 0x30) throw malformed('certificate is not a SEQUENCE');
  const der = Uint8Array.from(outer.bytes);
  const [tbsNode] = outer.children;
  if (!tbsNode || tbsNode.tag !== 0x30) throw malformed('missing tbsCertificate');
  const tbsParts = tbsNode.children;
  const skip = tbsParts[0]?.tag === 0xa0 ? 1 : 0;
  const issuerNode = tbsParts[skip + 2];
  const subjectNode = tbsParts[skip + 4];
  if (!issuerNode || !subjectNode) throw malformed('tbsCertificate is incomplete');
  const asn = AsnConvert.parse(der, AsnCertificate);
  const tbsAsn = asn.tbsCertificate;
  const subjectDer = Uint8Array.from(subjectNode.bytes);
  const issuerDer = Uint8Array.from(issuerNode.bytes);
  const subject = parseName(subjectDer);
  const issuer = parseName(issuerDer);
  const extensions = readExtensions(tbsAsn.extensions ? [...tbsAsn.extensions] : []);
  const spki = tbsAsn.subjectPublicKeyInfo;
  let signatureAlgorithm: string;
  try {
    signatureAlgorithm = signatureAlgorithmName(asn.signatureAlgorithm);
  } catch {
    signatureAlgorithm = asn.signatureAlgorithm.algorithm;
  }
  const { emails, ...certificateFields } = extensions;
  return {
    der,
    tbs: Uint8Array.from(tbsNode.bytes),
    asn,
    serialHex: integerHex(new Uint8Array(tbsAsn.serialNumber)),
    subject,
    issuer,
    subjectDer,
    issuerDer,
    notBefore: validDate(tbsAsn.validity.notBefore.getTime(), 'notBefore'),
    notAfter: validDate(tbsAsn.validity.notAfter.getTime(), 'notAfter'),
    spki,
    ...certificateFields,
    fingerprintSha256: createHash('sha256').update(der).digest('hex'),
    signatureAlgorithm,
    selfIssued: sameName({ der: subjectDer, name: subject }, { der: issuerDer, name: issuer }),
    profile: readNcaProfile({
      subject,
      extKeyUsage: extensions.extKeyUsage,
      policies: extensions.policies,
      spki,
      emails,
    }),
  };
}
