// Password-based encryption for PKCS#12: the RFC 7292 appendix B key derivation (legacy PBE
// with 3DES or RC2, and the MAC key) and PBES2 (PBKDF2 + AES) of RFC 8018.
import { createCipheriv, createDecipheriv, createHash, pbkdf2Sync, randomBytes } from 'node:crypto';
import {
  bmpBytes,
  concatBytes,
  der,
  expectTag,
  readOctets,
  readOid,
  readSmallInteger,
  TAG,
} from './ber.js';
import type { BerNode } from './ber.js';
import { PkiError } from './errors.js';
import { rc2CbcDecrypt } from './rc2.js';

export type PbeHash = 'sha1' | 'sha256' | 'sha384' | 'sha512';

const HASH_SIZES: Record<PbeHash, { u: number; v: number }> = {
  sha1: { u: 20, v: 64 },
  sha256: { u: 32, v: 64 },
  sha384: { u: 48, v: 128 },
  sha512: { u: 64, v: 128 },
};

export const HASH_OIDS: Record<string, PbeHash> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

/** Iteration counts above this are refused, so a hostile file cannot stall the server. */
export const MAX_ITERATIONS = 2_000_000;

/** Purpose byte of the RFC 7292 KDF. */
export const KDF_ID = { key: 1, iv: 2, mac: 3 } as const;

/** The PKCS#12 password form: BMPString (UTF-16BE) with a two-byte terminator. */
export function pkcs12Password(password: string): Uint8Array {
  return concatBytes([bmpBytes(password), new Uint8Array(2)]);
}

function repeatTo(source: Uint8Array, v: number): Uint8Array {
  if (source.length === 0) return new Uint8Array(0);
  const length = v * Math.ceil(source.length / v);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = source[i % source.length] as number;
  return out;
}

/** RFC 7292 appendix B.2: derives `n` bytes for purpose `id`. */
export function pkcs12Kdf(
  hash: PbeHash,
  password: Uint8Array,
  salt: Uint8Array,
  id: number,
  iterations: number,
  n: number,
): Uint8Array {
  const { u, v } = HASH_SIZES[hash];
  const D = new Uint8Array(v).fill(id);
  const I = concatBytes([repeatTo(salt, v), repeatTo(password, v)]);
  const blocks: Uint8Array[] = [];
  for (let produced = 0; produced < n; produced += u) {
    let A: Uint8Array = createHash(hash).update(D).update(I).digest();
    for (let r = 1; r < iterations; r++) A = createHash(hash).update(A).digest();
    blocks.push(A);
    const B = repeatTo(A, v).subarray(0, v);
    for (let j = 0; j < I.length; j += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = (I[j + k] as number) + (B[k] as number) + carry;
        I[j + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return concatBytes(blocks).subarray(0, n);
}

interface LegacyScheme {
  readonly name: string;
  readonly keyLength: number;
  readonly decrypt: (key: Uint8Array, iv: Uint8Array, data: Uint8Array) => Uint8Array;
}

const nodeCipher =
  (cipher: string) =>
  (key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array => {
    const decipher = createDecipheriv(cipher, key, iv);
    return concatBytes([decipher.update(data), decipher.final()]);
  };

const LEGACY_SCHEMES: Record<string, LegacyScheme> = {
  '1.2.840.113549.1.12.1.3': {
    name: 'pbeWithSHAAnd3-KeyTripleDES-CBC',
    keyLength: 24,
    decrypt: nodeCipher('des-ede3-cbc'),
  },
  '1.2.840.113549.1.12.1.4': {
    name: 'pbeWithSHAAnd2-KeyTripleDES-CBC',
    keyLength: 16,
    decrypt: nodeCipher('des-ede-cbc'),
  },
  '1.2.840.113549.1.12.1.5': {
    name: 'pbeWithSHAAnd128BitRC2-CBC',
    keyLength: 16,
    decrypt: (key, iv, data) => rc2CbcDecrypt(key, 128, iv, data),
  },
  '1.2.840.113549.1.12.1.6': {
    name: 'pbeWithSHAAnd40BitRC2-CBC',
    keyLength: 5,
    decrypt: (key, iv, data) => rc2CbcDecrypt(key, 40, iv, data),
  },
};

const PBES2 = '1.2.840.113549.1.5.13';
const PBKDF2 = '1.2.840.113549.1.5.12';

const PRF_OIDS: Record<string, PbeHash> = {
  '1.2.840.113549.2.7': 'sha1',
  '1.2.840.113549.2.9': 'sha256',
  '1.2.840.113549.2.10': 'sha384',
  '1.2.840.113549.2.11': 'sha512',
};

const PBES2_CIPHERS: Record<string, { cipher: string; keyLength: number }> = {
  '2.16.840.1.101.3.4.1.2': { cipher: 'aes-128-cbc', keyLength: 16 },
  '2.16.840.1.101.3.4.1.22': { cipher: 'aes-192-cbc', keyLength: 24 },
  '2.16.840.1.101.3.4.1.42': { cipher: 'aes-256-cbc', keyLength: 32 },
  '1.2.840.113549.3.7': { cipher: 'des-ede3-cbc', keyLength: 24 },
};

function iterationCount(node: BerNode | undefined, code: string): number {
  const n = readSmallInteger(node, code);
  if (n < 1 || n > MAX_ITERATIONS) throw new PkiError(code, `iteration count ${n} is out of range`);
  return n;
}

/**
 * Decrypts data under a PKCS#12 PBE or PBES2 AlgorithmIdentifier. A failure after a good MAC
 * means the file is damaged; the caller picks the code (e.g. `p12.bad_password`).
 */
export function pbeDecrypt(
  algorithm: BerNode,
  password: string,
  ciphertext: Uint8Array,
  code: string,
): Uint8Array {
  expectTag(algorithm, TAG.sequence, code, 'encryption algorithm');
  const oid = readOid(algorithm.children[0], code);
  const params = expectTag(algorithm.children[1], TAG.sequence, code, 'PBE parameters');
  try {
    if (oid === PBES2) return pbes2Decrypt(params, password, ciphertext, code);
    const scheme = LEGACY_SCHEMES[oid];
    if (scheme === undefined) throw new PkiError('p12.unsupported', `unsupported PBE ${oid}`);
    const salt = readOctets(params.children[0], code);
    const iterations = iterationCount(params.children[1], code);
    const pass = pkcs12Password(password);
    const key = pkcs12Kdf('sha1', pass, salt, KDF_ID.key, iterations, scheme.keyLength);
    const iv = pkcs12Kdf('sha1', pass, salt, KDF_ID.iv, iterations, 8);
    return scheme.decrypt(key, iv, ciphertext);
  } catch (error) {
    if (error instanceof PkiError && !error.code.startsWith('rc2.')) throw error;
    throw new PkiError(code, 'decryption failed: wrong password or damaged data', {
      cause: error,
    });
  }
}

function pbes2Decrypt(
  params: BerNode,
  password: string,
  ciphertext: Uint8Array,
  code: string,
): Uint8Array {
  const kdf = expectTag(params.children[0], TAG.sequence, code, 'PBES2 key derivation');
  const scheme = expectTag(params.children[1], TAG.sequence, code, 'PBES2 encryption scheme');
  if (readOid(kdf.children[0], code) !== PBKDF2) {
    throw new PkiError('p12.unsupported', 'PBES2 key derivation other than PBKDF2');
  }
  const kdfParams = expectTag(kdf.children[1], TAG.sequence, code, 'PBKDF2 parameters');
  const salt = readOctets(kdfParams.children[0], code);
  const iterations = iterationCount(kdfParams.children[1], code);
  let hash: PbeHash = 'sha1';
  for (const extra of kdfParams.children.slice(2)) {
    if (extra.tag === TAG.sequence) {
      const prf = PRF_OIDS[readOid(extra.children[0], code)];
      if (prf === undefined) throw new PkiError('p12.unsupported', 'unsupported PBKDF2 PRF');
      hash = prf;
    }
  }
  const cipherOid = readOid(scheme.children[0], code);
  const cipher = PBES2_CIPHERS[cipherOid];
  if (cipher === undefined)
    throw new PkiError('p12.unsupported', `unsupported cipher ${cipherOid}`);
  const iv = readOctets(scheme.children[1], code);
  const key = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, cipher.keyLength, hash);
  return nodeCipher(cipher.cipher)(key, iv, ciphertext);
}

/** PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC, as OpenSSL 3 writes by default. */
export function pbes2Encrypt(
  password: string,
  plaintext: Uint8Array,
  iterations = 2048,
): { algorithm: Uint8Array; ciphertext: Uint8Array } {
  const salt = randomBytes(16);
  const iv = randomBytes(16);
  const key = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, 32, 'sha256');
  const cipher = createCipheriv('aes-256-cbc', key, iv);
  const ciphertext = concatBytes([cipher.update(plaintext), cipher.final()]);
  const algorithm = der.sequence(
    der.oid(PBES2),
    der.sequence(
      der.sequence(
        der.oid(PBKDF2),
        der.sequence(
          der.octetString(salt),
          der.integer(iterations),
          der.sequence(der.oid('1.2.840.113549.2.9'), der.null()),
        ),
      ),
      der.sequence(der.oid('2.16.840.1.101.3.4.1.42'), der.octetString(iv)),
    ),
  );
  return { algorithm, ciphertext };
}
