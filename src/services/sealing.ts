// Sealed offers: each procurement gets an X25519 key pair at publication; its private key is
// kept wrapped (AES-256-GCM) by the platform's key and unwrapped only to open offers at the
// deadline. An offer is sealed on arrival with an ephemeral key (ECIES: X25519, HKDF-SHA256,
// AES-256-GCM) bound to its procurement, so nothing stored before the deadline shows a price.
import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
} from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { UppError } from '../domain/errors.js';

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Version byte of the envelope formats, so a later algorithm can be told apart. */
const WRAPPED_V1 = 1;
const SEALED_V1 = 1;

/** The platform key that wraps every procurement's private key; never logged or exported. */
export class WrappingKey {
  readonly #key: Buffer;

  private constructor(key: Buffer) {
    this.#key = key;
  }

  static fromBytes(bytes: Uint8Array): WrappingKey {
    if (bytes.length !== KEY_BYTES) {
      throw new UppError('sealing.bad_wrapping_key', 500, 'the wrapping key must be 32 bytes');
    }
    return new WrappingKey(Buffer.from(bytes));
  }

  /** Reads the key file, or creates it (mode 0600) when it does not exist yet. */
  static fromFile(path: string): WrappingKey {
    if (!existsSync(path)) {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      const temporary = `${path}.${process.pid}.tmp`;
      writeFileSync(temporary, randomBytes(KEY_BYTES), { mode: 0o600, flag: 'wx' });
      renameSync(temporary, path);
    }
    chmodSync(path, 0o600);
    return WrappingKey.fromBytes(readFileSync(path));
  }

  wrap(plain: Uint8Array, context: string): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return Buffer.concat([Buffer.from([WRAPPED_V1]), iv, cipher.getAuthTag(), body]);
  }

  unwrap(wrapped: Uint8Array, context: string): Buffer {
    const bytes = Buffer.from(wrapped);
    if (bytes[0] !== WRAPPED_V1 || bytes.length < 1 + IV_BYTES + TAG_BYTES) {
      throw new UppError('sealing.bad_envelope', 500, 'the wrapped key is not in a known format');
    }
    const iv = bytes.subarray(1, 1 + IV_BYTES);
    const tag = bytes.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.#key, iv);
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([
        decipher.update(bytes.subarray(1 + IV_BYTES + TAG_BYTES)),
        decipher.final(),
      ]);
    } catch {
      throw new UppError(
        'sealing.unwrap_failed',
        500,
        'the wrapped key does not open with this key',
      );
    }
  }

  /** Printing the key object shows what it is, never the key. */
  toJSON(): string {
    return '[WrappingKey]';
  }
}

export interface ProcurementKeys {
  /** SubjectPublicKeyInfo (DER) of the X25519 key offers are sealed to. */
  publicKey: Buffer;
  /** The PKCS#8 private key, wrapped by the platform key for this procurement only. */
  wrappedPrivateKey: Buffer;
}

const wrapContext = (procurementId: string) => `upp:procurement-key:${procurementId}`;
const sealContext = (procurementId: string) => `upp:sealed-offer:${procurementId}`;

export function newProcurementKeys(wrapping: WrappingKey, procurementId: string): ProcurementKeys {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  return {
    publicKey: publicKey.export({ format: 'der', type: 'spki' }),
    wrappedPrivateKey: wrapping.wrap(pkcs8, wrapContext(procurementId)),
  };
}

function contentKey(shared: Buffer, ephemeral: Buffer, procurementId: string): Buffer {
  return Buffer.from(hkdfSync('sha256', shared, ephemeral, sealContext(procurementId), KEY_BYTES));
}

/** Procurement keys read, by their exact DER: every offer to one is sealed to the same key. */
const recipients = new Map<string, KeyObject>();
const RECIPIENTS_KEPT = 1000;

function recipientKey(publicKeyDer: Uint8Array): KeyObject {
  const der = Buffer.from(publicKeyDer);
  const id = der.toString('base64');
  const known = recipients.get(id);
  if (known !== undefined) return known;
  const key = createPublicKey({ key: der, format: 'der', type: 'spki' });
  if (recipients.size >= RECIPIENTS_KEPT) recipients.delete(recipients.keys().next().value!);
  recipients.set(id, key);
  return key;
}

/** The DER prefix of an X25519 SubjectPublicKeyInfo (RFC 8410): the 32-byte key follows. */
const X25519_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

/**
 * An X25519 public key as SubjectPublicKeyInfo DER, the same bytes as export({ format: 'der' }),
 * built from the raw key that the JWK export reads without OpenSSL's slower DER encoder.
 */
function x25519Spki(publicKey: KeyObject): Buffer {
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  return Buffer.concat([X25519_SPKI_PREFIX, raw]);
}

/** Seals `plain` to a procurement's public key; only its private key opens it. */
export function seal(publicKeyDer: Uint8Array, procurementId: string, plain: Uint8Array): Buffer {
  const recipient = recipientKey(publicKeyDer);
  const ephemeral = generateKeyPairSync('x25519');
  const ephemeralDer = x25519Spki(ephemeral.publicKey);
  const shared = diffieHellman({ privateKey: ephemeral.privateKey, publicKey: recipient });
  const key = contentKey(shared, ephemeralDer, procurementId);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(sealContext(procurementId), 'utf8'));
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  const header = Buffer.from([SEALED_V1, ephemeralDer.length]);
  return Buffer.concat([header, ephemeralDer, iv, cipher.getAuthTag(), body]);
}

/** The unwrapped private key of a procurement, for opening its offers at the deadline. */
export function openingKey(
  wrapping: WrappingKey,
  procurementId: string,
  wrappedPrivateKey: Uint8Array,
): KeyObject {
  const pkcs8 = wrapping.unwrap(wrappedPrivateKey, wrapContext(procurementId));
  return createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
}

/** Opens a sealed offer; a tampered or foreign envelope is refused, never half-read. */
export function unseal(privateKey: KeyObject, procurementId: string, sealed: Uint8Array): Buffer {
  const bytes = Buffer.from(sealed);
  const ephemeralLength = bytes[1] ?? 0;
  const start = 2 + ephemeralLength;
  if (bytes[0] !== SEALED_V1 || bytes.length < start + IV_BYTES + TAG_BYTES) {
    throw new UppError('sealing.bad_envelope', 422, 'the sealed offer is not in a known format');
  }
  try {
    const ephemeralDer = bytes.subarray(2, start);
    const ephemeral = createPublicKey({ key: ephemeralDer, format: 'der', type: 'spki' });
    const shared = diffieHellman({ privateKey, publicKey: ephemeral });
    const key = contentKey(shared, ephemeralDer, procurementId);
    const iv = bytes.subarray(start, start + IV_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(Buffer.from(sealContext(procurementId), 'utf8'));
    decipher.setAuthTag(bytes.subarray(start + IV_BYTES, start + IV_BYTES + TAG_BYTES));
    return Buffer.concat([
      decipher.update(bytes.subarray(start + IV_BYTES + TAG_BYTES)),
      decipher.final(),
    ]);
  } catch {
    throw new UppError('sealing.open_failed', 422, 'the sealed offer does not open');
  }
}
