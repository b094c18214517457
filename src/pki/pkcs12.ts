// Opens PKCS#12 key stores as NCA RK issues them (legacy 3DES/RC2 PBE, SHA-1 MAC; RSA and GOST
// keys) and writes new ones (PBES2/AES-256, SHA-256 MAC) for the demo CA.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  bytesEqual,
  decodeBer,
  der,
  expectTag,
  isContext,
  readOctets,
  readOid,
  readSmallInteger,
  TAG,
} from './ber.js';
import type { BerNode } from './ber.js';
import { parseCertificate } from './certificate.js';
import type { Certificate } from './certificate.js';
import { PkiError } from './errors.js';
import {
  HASH_OIDS,
  KDF_ID,
  MAX_ITERATIONS,
  pbeDecrypt,
  pbes2Encrypt,
  pkcs12Kdf,
  pkcs12Password,
} from './pbe.js';
import type { PbeHash } from './pbe.js';
import { privateKeyFromPkcs8, privateKeyMatches } from './keys.js';
import type { PrivateKey } from './keys.js';

export interface Pkcs12Contents {
  readonly privateKey: PrivateKey;
  /** The certificate of `privateKey`. */
  readonly certificate: Certificate;
  /** The other certificates in the store (issuing CAs). */
  readonly chain: Certificate[];
}

const CODE = 'p12.malformed';
/** Key stores are small; a bigger file is not one. */
export const MAX_PKCS12_BYTES = 1024 * 1024;

const OIDS = {
  data: '1.2.840.113549.1.7.1',
  encryptedData: '1.2.840.113549.1.7.6',
  keyBag: '1.2.840.113549.1.12.10.1.1',
  shroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
  certBag: '1.2.840.113549.1.12.10.1.3',
  x509Certificate: '1.2.840.113549.1.9.22.1',
  localKeyId: '1.2.840.113549.1.9.21',
  friendlyName: '1.2.840.113549.1.9.20',
} as const;

interface Bag {
  readonly localKeyId?: Uint8Array;
}

interface KeyBag extends Bag {
  readonly pkcs8: Uint8Array;
}

interface CertBag extends Bag {
  readonly der: Uint8Array;
}

/**
 * Opens a key store: checks the MAC first (a wrong password gives `p12.bad_password`), decrypts
 * the bags and pairs the private key with its certificate.
 */
export function openPkcs12(input: Uint8Array, password: string): Pkcs12Contents {
  if (!(input instanceof Uint8Array) || input.length === 0) {
    throw new PkiError(CODE, 'PKCS#12 input must be non-empty bytes');
  }
  if (input.length > MAX_PKCS12_BYTES) throw new PkiError(CODE, 'PKCS#12 file is too large');
  const pfx = expectTag(decodeBer(input, CODE), TAG.sequence, CODE, 'PFX');
  if (readSmallInteger(pfx.children[0], CODE) !== 3) {
    throw new PkiError('p12.unsupported', 'PKCS#12 version is not 3');
  }
  const authSafe = contentInfoData(pfx.children[1], 'authenticated safe');
  const macData = pfx.children[2];
  if (macData !== undefined) checkMac(macData, authSafe, password);
  const keys: KeyBag[] = [];
  const certs: CertBag[] = [];
  const safes = expectTag(decodeBer(authSafe, CODE), TAG.sequence, CODE, 'authenticated safe');
  for (const info of safes.children) {
    const contents = safeContents(info, password, macData !== undefined);
    collectBags(decodeBer(contents, CODE), password, keys, certs);
  }
  return pairKeyWithCertificate(keys, certs);
}

function contentInfoData(node: BerNode | undefined, what: string): Uint8Array {
  const info = expectTag(node, TAG.sequence, CODE, what);
  if (readOid(info.children[0], CODE) !== OIDS.data) {
    throw new PkiError('p12.unsupported', `${what} is not plain data (public-key integrity?)`);
  }
  const wrapper = info.children[1];
  if (!isContext(wrapper, 0)) throw new PkiError(CODE, `${what}: missing content`);
  return readOctets(wrapper.children[0], CODE);
}

function checkMac(macData: BerNode, authSafe: Uint8Array, password: string): void {
  expectTag(macData, TAG.sequence, CODE, 'MAC data');
  const digestInfo = expectTag(macData.children[0], TAG.sequence, CODE, 'MAC digest info');
  const algorithm = expectTag(digestInfo.children[0], TAG.sequence, CODE, 'MAC algorithm');
  const hash = HASH_OIDS[readOid(algorithm.children[0], CODE)];
  if (hash === undefined) throw new PkiError('p12.unsupported', 'unsupported MAC digest');
  const expected = readOctets(digestInfo.children[1], CODE);
  const salt = readOctets(macData.children[1], CODE);
  const iterations = macData.children[2] ? readSmallInteger(macData.children[2], CODE) : 1;
  if (iterations < 1 || iterations > MAX_ITERATIONS) {
    throw new PkiError(CODE, 'MAC iteration count is out of range');
  }
  const actual = pkcs12Mac(hash, password, salt, iterations, authSafe);
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
    throw new PkiError('p12.bad_password', 'wrong password (the key store MAC does not match)');
  }
}

function pkcs12Mac(
  hash: PbeHash,
  password: string,
  salt: Uint8Array,
  iterations: number,
  content: Uint8Array,
): Uint8Array {
  const size = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 }[hash];
  const key = pkcs12Kdf(hash, pkcs12Password(password), salt, KDF_ID.mac, iterations, size);
  return createHmac(hash, key).update(content).digest();
}

function safeContents(info: BerNode, password: string, macChecked: boolean): Uint8Array {
  expectTag(info, TAG.sequence, CODE, 'content info');
  const type = readOid(info.children[0], CODE);
  if (type === OIDS.data) return contentInfoData(info, 'safe contents');
  if (type !== OIDS.encryptedData) throw new PkiError('p12.unsupported', `content type ${type}`);
  const wrapper = info.children[1];
  if (!isContext(wrapper, 0)) throw new PkiError(CODE, 'encrypted data: missing content');
  const encrypted = expectTag(wrapper.children[0], TAG.sequence, CODE, 'encrypted data');
  const eci = expectTag(encrypted.children[1], TAG.sequence, CODE, 'encrypted content info');
  const algorithm = expectTag(eci.children[1], TAG.sequence, CODE, 'content encryption');
  const payload = eci.children[2];
  if (!isContext(payload, 0)) throw new PkiError(CODE, 'encrypted data: no ciphertext');
  const ciphertext = readOctets(payload, CODE, 0x80);
  return pbeDecrypt(algorithm, password, ciphertext, decryptCode(macChecked));
}

// With a good MAC, a decryption failure is damage; without a MAC it is most likely the password.
const decryptCode = (macChecked: boolean) => (macChecked ? CODE : 'p12.bad_password');

function collectBags(contents: BerNode, password: string, keys: KeyBag[], certs: CertBag[]): void {
  expectTag(contents, TAG.sequence, CODE, 'safe contents');
  for (const bag of contents.children) {
    expectTag(bag, TAG.sequence, CODE, 'safe bag');
    const type = readOid(bag.children[0], CODE);
    const wrapper = bag.children[1];
    if (!isContext(wrapper, 0)) throw new PkiError(CODE, 'safe bag without a value');
    const value = expectTag(wrapper.children[0], TAG.sequence, CODE, 'safe bag value');
    const localKeyId = bagLocalKeyId(bag.children[2]);
    if (type === OIDS.keyBag) keys.push({ pkcs8: value.bytes, localKeyId });
    if (type === OIDS.shroudedKeyBag) {
      const algorithm = expectTag(value.children[0], TAG.sequence, CODE, 'key encryption');
      const ciphertext = readOctets(value.children[1], CODE);
      keys.push({ pkcs8: pbeDecrypt(algorithm, password, ciphertext, CODE), localKeyId });
    }
    if (type === OIDS.certBag && readOid(value.children[0], CODE) === OIDS.x509Certificate) {
      const inner = value.children[1];
      if (!isContext(inner, 0)) throw new PkiError(CODE, 'certificate bag without a value');
      certs.push({ der: readOctets(inner.children[0], CODE), localKeyId });
    }
  }
}

function bagLocalKeyId(attributes: BerNode | undefined): Uint8Array | undefined {
  if (attributes === undefined) return undefined;
  expectTag(attributes, TAG.set, CODE, 'bag attributes');
  for (const attribute of attributes.children) {
    if (readOid(attribute.children[0], CODE) === OIDS.localKeyId) {
      const values = expectTag(attribute.children[1], TAG.set, CODE, 'localKeyId values');
      return readOctets(values.children[0], CODE);
    }
  }
  return undefined;
}

function pairKeyWithCertificate(keys: KeyBag[], certs: CertBag[]): Pkcs12Contents {
  const keyBag = keys[0];
  if (keyBag === undefined) throw new PkiError('p12.no_key', 'the key store holds no private key');
  const privateKey = privateKeyFromPkcs8(keyBag.pkcs8);
  const parsed = certs.map((c) => ({ bag: c, certificate: parseCertificate(c.der) }));
  const byId =
    keyBag.localKeyId === undefined
      ? undefined
      : parsed.find((c) => c.bag.localKeyId && bytesEqual(c.bag.localKeyId, keyBag.localKeyId!));
  const leaf =
    byId !== undefined && privateKeyMatches(privateKey, byId.bag.der)
      ? byId
      : parsed.find((c) => privateKeyMatches(privateKey, c.bag.der));
  if (leaf === undefined) {
    throw new PkiError('p12.no_certificate', 'no certificate in the key store matches its key');
  }
  return {
    privateKey,
    certificate: leaf.certificate,
    chain: parsed.filter((c) => c !== leaf).map((c) => c.certificate),
  };
}

export interface Pkcs12Entry {
  /** PKCS#8 PrivateKeyInfo DER of the key. */
  readonly privateKeyPkcs8: Uint8Array;
  readonly certificate: Uint8Array;
  readonly chain?: readonly Uint8Array[];
  readonly friendlyName?: string;
}

/**
 * Writes a key store the way OpenSSL 3 does by default (PBES2 with AES-256-CBC for key and
 * certificates, HMAC-SHA-256 MAC), so `openssl pkcs12` opens it without `-legacy`.
 */
export function createPkcs12(entry: Pkcs12Entry, password: string, iterations = 2048): Uint8Array {
  const localKeyId = randomBytes(20);
  const attributes = (withName: boolean) =>
    der.set(
      der.sequence(der.oid(OIDS.localKeyId), der.set(der.octetString(localKeyId))),
      ...(withName && entry.friendlyName !== undefined
        ? [der.sequence(der.oid(OIDS.friendlyName), der.set(der.bmp(entry.friendlyName)))]
        : []),
    );
  const certBag = (certificate: Uint8Array, leaf: boolean) =>
    der.sequence(
      der.oid(OIDS.certBag),
      der.explicit(
        0,
        der.sequence(der.oid(OIDS.x509Certificate), der.explicit(0, der.octetString(certificate))),
      ),
      ...(leaf ? [attributes(true)] : []),
    );
  const certificates = der.sequence(
    certBag(entry.certificate, true),
    ...(entry.chain ?? []).map((c) => certBag(c, false)),
  );
  const sealedCerts = pbes2Encrypt(password, certificates, iterations);
  const sealedKey = pbes2Encrypt(password, entry.privateKeyPkcs8, iterations);
  const keyBags = der.sequence(
    der.sequence(
      der.oid(OIDS.shroudedKeyBag),
      der.explicit(0, der.sequence(sealedKey.algorithm, der.octetString(sealedKey.ciphertext))),
      attributes(true),
    ),
  );
  const authSafe = der.sequence(
    der.sequence(
      der.oid(OIDS.encryptedData),
      der.explicit(
        0,
        der.sequence(
          der.integer(0),
          der.sequence(
            der.oid(OIDS.data),
            sealedCerts.algorithm,
            der.implicitPrimitive(0, sealedCerts.ciphertext),
          ),
        ),
      ),
    ),
    der.sequence(der.oid(OIDS.data), der.explicit(0, der.octetString(keyBags))),
  );
  const salt = randomBytes(16);
  const mac = pkcs12Mac('sha256', password, salt, iterations, authSafe);
  return der.sequence(
    der.integer(3),
    der.sequence(der.oid(OIDS.data), der.explicit(0, der.octetString(authSafe))),
    der.sequence(
      der.sequence(
        der.sequence(der.oid('2.16.840.1.101.3.4.2.1'), der.null()),
        der.octetString(mac),
      ),
      der.octetString(salt),
      der.integer(iterations),
    ),
  );
}
