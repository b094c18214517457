// The file types the platform accepts, and the magic bytes each one's content must start with: a
// declared type (Upload-Metadata filetype, or the name's extension) that the content contradicts is
// refused.
import { UppError } from '../domain/errors.js';

/** How many leading bytes of a file the checks read. */
export const SAMPLE_BYTES = 4096;

export interface FileKind {
  name: string;
  mediaTypes: readonly string[];
  extensions: readonly string[];
  /** `head` is the first SAMPLE_BYTES of the file (all of it when shorter); `whole` says which. */
  matches(head: Buffer, whole: boolean): boolean;
}

function startsWith(head: Buffer, ...signatures: number[][]): boolean {
  return signatures.some((signature) => signature.every((byte, index) => head[index] === byte));
}

const ZIP = (head: Buffer) =>
  startsWith(head, [0x50, 0x4b, 0x03, 0x04], [0x50, 0x4b, 0x05, 0x06], [0x50, 0x4b, 0x07, 0x08]);

/** PDF readers accept the header anywhere in the first 1024 bytes. */
const PDF = (head: Buffer) => head.subarray(0, 1024).includes('%PDF-');

const UTF8_BOM = [0xef, 0xbb, 0xbf];

/** Tab, line feed, form feed, carriage return. */
const TEXT_CONTROLS = new Set([0x09, 0x0a, 0x0c, 0x0d]);

/** UTF-8 text without NUL or other controls than tab, line feed, form feed and carriage return. */
function isText(head: Buffer, whole: boolean): boolean {
  let bytes = startsWith(head, UTF8_BOM) ? head.subarray(3) : head;
  if (!whole) {
    // A sample may end inside a multi-byte character: drop that tail before decoding.
    let cut = bytes.length;
    for (let back = 1; back <= 3 && back <= bytes.length; back += 1) {
      const byte = bytes[bytes.length - back] ?? 0;
      if ((byte & 0xc0) === 0xc0) {
        cut = bytes.length - back;
        break;
      }
      if ((byte & 0x80) === 0) break;
    }
    bytes = bytes.subarray(0, cut);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return false;
  }
  for (const character of text) {
    const code = character.codePointAt(0) ?? 0;
    if ((code < 0x20 && !TEXT_CONTROLS.has(code)) || code === 0x7f) return false;
  }
  return true;
}

function isXml(head: Buffer, whole: boolean): boolean {
  if (!isText(head, whole)) return false;
  const text = head.toString('utf8').replace(/^\uFEFF/, '');
  return /^\s*</.test(text);
}

/** A DER or BER SEQUENCE (ContentInfo) whose first element is an OBJECT IDENTIFIER. */
function isCms(head: Buffer): boolean {
  if (head[0] !== 0x30 || head.length < 4) return false;
  const length = head[1] ?? 0;
  if (length === 0x80) return head[2] === 0x06;
  if (length < 0x80) return head[2] === 0x06;
  const octets = length & 0x7f;
  if (octets > 4) return false;
  return head[2 + octets] === 0x06;
}

/** A later volume of a split archive is a slice of bytes with no header of its own. */
const OPAQUE_VOLUME: FileKind = {
  name: 'archive volume',
  mediaTypes: [],
  extensions: [],
  matches: () => true,
};

export const FILE_KINDS: readonly FileKind[] = [
  { name: 'PDF', mediaTypes: ['application/pdf'], extensions: ['pdf'], matches: PDF },
  {
    name: 'ZIP',
    mediaTypes: ['application/zip', 'application/x-zip-compressed'],
    extensions: ['zip'],
    matches: ZIP,
  },
  {
    name: 'DOCX',
    mediaTypes: ['application/vnd.openxmlformats-officedocument.wordprocessingml.document'],
    extensions: ['docx'],
    matches: ZIP,
  },
  {
    name: 'XLSX',
    mediaTypes: ['application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'],
    extensions: ['xlsx'],
    matches: ZIP,
  },
  {
    name: 'JPEG',
    mediaTypes: ['image/jpeg'],
    extensions: ['jpg', 'jpeg'],
    matches: (head) => startsWith(head, [0xff, 0xd8, 0xff]),
  },
  {
    name: 'PNG',
    mediaTypes: ['image/png'],
    extensions: ['png'],
    matches: (head) => startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  },
  {
    name: 'TIFF',
    mediaTypes: ['image/tiff'],
    extensions: ['tif', 'tiff'],
    matches: (head) => startsWith(head, [0x49, 0x49, 0x2a, 0x00], [0x4d, 0x4d, 0x00, 0x2a]),
  },
  {
    name: 'XML',
    mediaTypes: ['application/xml', 'text/xml'],
    extensions: ['xml'],
    matches: isXml,
  },
  {
    name: 'text',
    mediaTypes: ['text/plain', 'text/csv'],
    extensions: ['txt', 'csv'],
    matches: isText,
  },
  {
    name: 'CMS',
    mediaTypes: ['application/pkcs7-signature', 'application/pkcs7-mime', 'application/cms'],
    extensions: ['p7s', 'p7m', 'cms', 'sig'],
    matches: isCms,
  },
];

/** Says nothing about the content: the name's extension decides then. */
const UNSPECIFIC_TYPES = new Set(['application/octet-stream']);
const VOLUME = /\.zip\.(\d{3})$/i;

function kindOfName(filename: string): FileKind | undefined {
  const volume = VOLUME.exec(filename);
  if (volume !== null) {
    return Number(volume[1]) === 1 ? FILE_KINDS.find((kind) => kind.name === 'ZIP') : OPAQUE_VOLUME;
  }
  const dot = filename.lastIndexOf('.');
  if (dot < 0) return undefined;
  const extension = filename.slice(dot + 1).toLowerCase();
  return FILE_KINDS.find((kind) => kind.extensions.includes(extension));
}

function mediaTypeOf(filetype: string): string {
  return (filetype.split(';')[0] ?? '').trim().toLowerCase();
}

/**
 * The kinds an upload declares, by its type and by its name. Refuses with
 * `upload.type_not_allowed` (415) when the type is not on the list or neither says anything.
 */
export function declaredKinds(filename: string, filetype: string | null): FileKind[] {
  const kinds: FileKind[] = [];
  const byName = kindOfName(filename);
  if (byName !== undefined) kinds.push(byName);
  if (filetype !== null && !UNSPECIFIC_TYPES.has(mediaTypeOf(filetype))) {
    const media = mediaTypeOf(filetype);
    const byType = FILE_KINDS.find((kind) => kind.mediaTypes.includes(media));
    if (byType === undefined) {
      throw new UppError('upload.type_not_allowed', 415, `files of type ${media} are not accepted`);
    }
    if (byName !== OPAQUE_VOLUME) kinds.push(byType);
  }
  if (kinds.length === 0) {
    const names = FILE_KINDS.flatMap((kind) => kind.extensions).join(', ');
    throw new UppError(
      'upload.type_not_allowed',
      415,
      `say what the file is: a known filetype or a name ending in one of ${names}, .zip.001...`,
    );
  }
  return kinds;
}

/** Refuses with `upload.type_mismatch` (422) when the content is not what was declared. */
export function checkContent(kinds: readonly FileKind[], head: Buffer, whole: boolean): void {
  for (const kind of kinds) {
    if (!kind.matches(head, whole)) {
      throw new UppError(
        'upload.type_mismatch',
        422,
        `the file was declared ${kind.name} but its content is not`,
      );
    }
  }
}
