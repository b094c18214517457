// Reads the NCA RK certificate profile (who the holder is, what the key is for, which roles it
// carries) from the subject name and extensions, as listed in kz-eds-vectors/README.md.

import type { SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import { keyAlgorithmName, type SignatureAlgorithmName } from './algorithms.js';
import type { DistinguishedName } from './certificate.js';

export type Role =
  | 'individual'
  | 'legal_entity'
  | 'first_head'
  | 'signing_right'
  | 'financial_signing_right'
  | 'hr'
  | 'employee';

export type KeyPurpose = 'sign' | 'auth' | 'unknown';

export interface NcaProfile {
  commonName?: string;
  surname?: string;
  /** NCA puts the patronymic here; the first name is inside the common name after the surname. */
  givenName?: string;
  iin?: string;
  bin?: string;
  organization?: string;
  keyPurpose: KeyPurpose;
  roles: Role[];
  policies: string[];
  /** Key family of the subject key: a GOST name, 'rsa', 'rsa-pss', 'ecdsa', or the key OID. */
  algorithm: SignatureAlgorithmName | string;
  country?: string;
  email?: string;
}

export const NAME_OIDS = {
  commonName: '2.5.4.3',
  surname: '2.5.4.4',
  serialNumber: '2.5.4.5',
  country: '2.5.4.6',
  locality: '2.5.4.7',
  state: '2.5.4.8',
  organization: '2.5.4.10',
  organizationalUnit: '2.5.4.11',
  givenName: '2.5.4.42',
  email: '1.2.840.113549.1.9.1',
} as const;

/** Extended key usage OIDs that give the key purpose. */
export const KEY_PURPOSE_OIDS: Record<string, Exclude<KeyPurpose, 'unknown'>> = {
  '1.3.6.1.5.5.7.3.4': 'sign',
  '1.3.6.1.5.5.7.3.2': 'auth',
};

/** NCA RK role OIDs carried in extended key usage. */
export const ROLE_OIDS: Record<string, Role> = {
  '1.2.398.3.3.4.1.1': 'individual',
  '1.2.398.3.3.4.1.2': 'legal_entity',
  '1.2.398.3.3.4.1.2.1': 'first_head',
  '1.2.398.3.3.4.1.2.2': 'signing_right',
  '1.2.398.3.3.4.1.2.3': 'financial_signing_right',
  '1.2.398.3.3.4.1.2.4': 'hr',
  '1.2.398.3.3.4.1.2.5': 'employee',
};

const IIN_VALUE = /^IIN(\d{12})$/;
const BIN_VALUE = /^BIN(\d{12})$/;

export function nameValues(name: DistinguishedName, oid: string): string[] {
  return name.attributes.filter((item) => item.oid === oid).map((item) => item.value);
}

export function nameValue(name: DistinguishedName, oid: string): string | undefined {
  return nameValues(name, oid)[0];
}

function firstMatch(values: string[], pattern: RegExp): string | undefined {
  for (const value of values) {
    const match = pattern.exec(value.trim());
    if (match) return match[1];
  }
  return undefined;
}

export interface ProfileSource {
  subject: DistinguishedName;
  extKeyUsage: string[];
  policies: string[];
  spki: SubjectPublicKeyInfo;
  emails?: string[];
}

/** The NCA profile of a certificate; fields the certificate does not carry stay undefined. */
export function readNcaProfile(source: ProfileSource): NcaProfile {
  const { subject, extKeyUsage } = source;
  const purposes = new Set(extKeyUsage.map((oid) => KEY_PURPOSE_OIDS[oid]).filter(Boolean));
  // A key that claims both purposes is ambiguous; only a single clear purpose is reported.
  const keyPurpose: KeyPurpose =
    purposes.size === 1 ? ([...purposes][0] as Exclude<KeyPurpose, 'unknown'>) : 'unknown';
  const roleSet = new Set<Role>();
  for (const oid of extKeyUsage) {
    const role = ROLE_OIDS[oid];
    if (role) roleSet.add(role);
  }
  const roles = Object.values(ROLE_OIDS).filter((role) => roleSet.has(role));
  let algorithm: string;
  try {
    algorithm = keyAlgorithmName(source.spki);
  } catch {
    algorithm = source.spki.algorithm.algorithm;
  }
  const profile: NcaProfile = { keyPurpose, roles, policies: [...source.policies], algorithm };
  const assign = (field: keyof NcaProfile, value: string | undefined): void => {
    if (value !== undefined) Object.assign(profile, { [field]: value });
  };
  assign('commonName', nameValue(subject, NAME_OIDS.commonName));
  assign('surname', nameValue(subject, NAME_OIDS.surname));
  assign('givenName', nameValue(subject, NAME_OIDS.givenName));
  assign('iin', firstMatch(nameValues(subject, NAME_OIDS.serialNumber), IIN_VALUE));
  assign('bin', firstMatch(nameValues(subject, NAME_OIDS.organizationalUnit), BIN_VALUE));
  assign('organization', nameValue(subject, NAME_OIDS.organization));
  assign('country', nameValue(subject, NAME_OIDS.country));
  assign('email', nameValue(subject, NAME_OIDS.email) ?? source.emails?.[0]);
  return profile;
}
