// The tus 1.0 request headers read strictly: offsets and lengths, Upload-Metadata, Upload-Checksum,
// and the file name a user gives, which must be safe to show and to save under on any system.
import { UppError } from '../domain/errors.js';

export const TUS_VERSION = '1.0.0';
export const TUS_EXTENSIONS = [
  'creation',
  'creation-with-upload',
  'termination',
  'expiration',
  'checksum',
] as const;

/** Digest algorithms of the checksum extension, with Node's names. */
export const CHECKSUM_ALGORITHMS: Readonly<Record<string, string>> = {
  sha1: 'sha1',
  sha256: 'sha256',
};

/** Headers whose value is one whole non-negative number of bytes, at most 2^53 - 1. */
export function byteCount(value: string | undefined, header: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,16}$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new UppError('upload.bad_header', 400, `${header} must be a non-negative integer`);
  }
  return Number(value);
}

const METADATA_KEY = /^[\x21-\x2b\x2d-\x7e]+$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const MAX_METADATA_BYTES = 4096;

function decodeUtf8(bytes: Buffer, what: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new UppError('upload.bad_metadata', 400, `${what} is not valid UTF-8`);
  }
}

/**
 * Upload-Metadata: comma-separated `key base64value` pairs (the value may be absent). Keys are
 * unique ASCII without spaces or commas; values must be UTF-8 text.
 */
export function parseUploadMetadata(header: string | undefined): Record<string, string> {
  const metadata: Record<string, string> = {};
  if (header === undefined || header.trim() === '') return metadata;
  if (header.length > MAX_METADATA_BYTES) {
    throw new UppError('upload.bad_metadata', 400, `Upload-Metadata is over ${MAX_METADATA_BYTES}`);
  }
  for (const pair of header.split(',')) {
    const parts = pair.trim().split(' ');
    const [key, value = '', ...rest] = parts;
    if (key === undefined || !METADATA_KEY.test(key) || rest.length > 0 || !BASE64.test(value)) {
      throw new UppError('upload.bad_metadata', 400, 'Upload-Metadata is not "key base64,..."');
    }
    if (Object.hasOwn(metadata, key)) {
      throw new UppError('upload.bad_metadata', 400, `Upload-Metadata names ${key} twice`);
    }
    metadata[key] = decodeUtf8(Buffer.from(value, 'base64'), `the metadata value of ${key}`);
  }
  return metadata;
}

export interface UploadChecksum {
  algorithm: string;
  digest: Buffer;
}

/** Upload-Checksum: `<algorithm> <base64 digest>`. */
export function parseUploadChecksum(header: string | undefined): UploadChecksum | undefined {
  if (header === undefined) return undefined;
  const match = /^([a-z0-9-]+) ([A-Za-z0-9+/]+={0,2})$/.exec(header.trim());
  if (match === null) {
    throw new UppError('upload.bad_checksum', 400, 'Upload-Checksum is not "algorithm base64"');
  }
  const [, algorithm = '', digest = ''] = match;
  if (CHECKSUM_ALGORITHMS[algorithm] === undefined) {
    throw new UppError(
      'upload.checksum_unsupported',
      400,
      `checksum algorithm ${algorithm} is not supported; use ${Object.keys(CHECKSUM_ALGORITHMS)}`,
    );
  }
  return { algorithm, digest: Buffer.from(digest, 'base64') };
}

/** C0 and C1 controls, DEL, and the bidirectional overrides that disguise an extension. */
function isUnsafeCharacter(code: number): boolean {
  return (
    code < 0x20 ||
    (code >= 0x7f && code <= 0x9f) ||
    (code >= 0x202a && code <= 0x202e) ||
    (code >= 0x2066 && code <= 0x2069)
  );
}
const RESERVED_CHARACTERS = /[/\\<>:"|?*]/;
const WINDOWS_DEVICES = /^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$/i;
export const MAX_FILENAME_BYTES = 255;

/**
 * A file name as given, if it is one plain name: no directories or traversal, no control or
 * direction-changing characters, no characters Windows refuses, at most 255 bytes of UTF-8.
 * Kazakh and Russian letters are kept; the name is put in Unicode NFC.
 */
export function safeFilename(name: string | undefined): string {
  const refuse = (why: string) => new UppError('upload.bad_name', 400, `the file name ${why}`);
  if (name === undefined || name.length === 0) throw refuse('is missing (metadata "filename")');
  const normal = name.normalize('NFC');
  if ([...normal].some((character) => isUnsafeCharacter(character.codePointAt(0) ?? 0))) {
    throw refuse('contains control characters');
  }
  if (RESERVED_CHARACTERS.test(normal)) throw refuse('contains / \\ < > : " | ? or *');
  if (normal === '.' || normal === '..' || normal.trim() !== normal || normal.endsWith('.')) {
    throw refuse('is not a plain file name');
  }
  if (WINDOWS_DEVICES.test(normal)) throw refuse('is a reserved device name');
  if (Buffer.byteLength(normal, 'utf8') > MAX_FILENAME_BYTES) {
    throw refuse(`is over ${MAX_FILENAME_BYTES} bytes`);
  }
  return normal;
}
