// The module's one ASN.1 codec: a bounded BER reader keeping the exact bytes CMS, PKCS#12 and
// RFC 3161 hash, a lazy strict-DER walk for certificates, CRLs and OCSP, and a DER writer.
import { PkiError } from './errors.js';

export interface BerNode {
  /** Class bits and constructed bit of the first identifier octet, e.g. 0x30, 0xa0. */
  readonly tag: number;
  readonly tagClass: number;
  readonly constructed: boolean;
  readonly tagNumber: number;
  /** The whole element, header included (and end-of-contents octets for indefinite lengths). */
  readonly bytes: Uint8Array;
  /** The content octets (for constructed elements: the encoded children). */
  readonly value: Uint8Array;
  readonly children: readonly BerNode[];
}

export const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  enumerated: 0x0a,
  utf8String: 0x0c,
  sequence: 0x30,
  set: 0x31,
  printableString: 0x13,
  t61String: 0x14,
  ia5String: 0x16,
  utcTime: 0x17,
  generalizedTime: 0x18,
  bmpString: 0x1e,
  universalString: 0x1c,
  visibleString: 0x1a,
  numericString: 0x12,
} as const;

const MAX_DEPTH = 48;
const MAX_NODES = 200_000;
const MAX_INPUT = 64 * 1024 * 1024;
/** Longest object identifier arc read, in octets (a 128-bit UUID arc takes 19). */
const MAX_ARC_OCTETS = 20;

interface Cursor {
  readonly input: Uint8Array;
  readonly code: string;
  /** DER as X.509, CRLs and OCSP use it: definite lengths and single-octet tags only. */
  readonly der: boolean;
  nodes: number;
}

interface Header {
  readonly first: number;
  readonly tagNumber: number;
  readonly constructed: boolean;
  readonly contentStart: number;
  /** Absent for an indefinite length. */
  readonly contentEnd?: number;
}

function fail(cursor: Cursor, message: string): never {
  throw new PkiError(cursor.code, message);
}

/** Parses one BER element; trailing bytes are refused unless `allowTrailing`. */
export function decodeBer(
  input: Uint8Array,
  code: string,
  options: { allowTrailing?: boolean } = {},
): BerNode {
  if (input.length > MAX_INPUT) throw new PkiError(code, 'input is too large');
  const cursor: Cursor = { input, code, der: false, nodes: 0 };
  const [node, end] = readElement(cursor, 0, input.length, 0);
  if (end !== input.length && !options.allowTrailing) fail(cursor, 'trailing bytes after element');
  return node;
}

/**
 * Reads the DER element at the start of `input` (bytes after it are left alone) without building
 * the whole tree: each node's children are read when asked for, and afresh on every access, so a
 * large CRL is walked in little memory and only the elements visited have to be well-formed.
 * Indefinite lengths and multi-octet tags are refused with PkiError(code).
 */
export function readDer(input: Uint8Array, code: string): BerNode {
  const cursor: Cursor = { input, code, der: true, nodes: 0 };
  return readShallow(cursor, 0, input.length, 0);
}

function readHeader(cursor: Cursor, offset: number, limit: number): Header {
  const { input } = cursor;
  if (offset >= limit) fail(cursor, 'truncated element');
  const first = input[offset] as number;
  let pos = offset + 1;
  let tagNumber = first & 0x1f;
  if (tagNumber === 0x1f) {
    if (cursor.der) fail(cursor, 'multi-octet tags are not supported');
    tagNumber = 0;
    for (let i = 0; ; i++) {
      if (pos >= limit || i > 3) fail(cursor, 'bad tag');
      const b = input[pos++] as number;
      tagNumber = tagNumber * 128 + (b & 0x7f);
      if ((b & 0x80) === 0) break;
    }
  }
  if (pos >= limit) fail(cursor, 'truncated length');
  const lengthByte = input[pos++] as number;
  const constructed = (first & 0x20) !== 0;
  if (lengthByte === 0x80) {
    if (cursor.der) fail(cursor, 'indefinite length is not DER');
    if (!constructed) fail(cursor, 'indefinite length on a primitive element');
    return { first, tagNumber, constructed, contentStart: pos };
  }
  let length = lengthByte;
  if (lengthByte > 0x80) {
    const count = lengthByte & 0x7f;
    if (count > 4) fail(cursor, 'length is too long');
    length = 0;
    for (let i = 0; i < count; i++) {
      if (pos >= limit) fail(cursor, 'truncated length');
      length = length * 256 + (input[pos++] as number);
    }
  }
  const contentEnd = pos + length;
  if (contentEnd > limit) fail(cursor, 'element runs past its container');
  return { first, tagNumber, constructed, contentStart: pos, contentEnd };
}

function readElement(
  cursor: Cursor,
  offset: number,
  limit: number,
  depth: number,
): [BerNode, number] {
  const { input } = cursor;
  if (depth > MAX_DEPTH) fail(cursor, 'nesting is too deep');
  if (++cursor.nodes > MAX_NODES) fail(cursor, 'too many elements');
  const header = readHeader(cursor, offset, limit);
  const { contentStart } = header;
  let contentEnd: number;
  let end: number;
  const children: BerNode[] = [];
  if (header.contentEnd === undefined) {
    let p = contentStart;
    for (;;) {
      if (p + 2 > limit) fail(cursor, 'missing end-of-contents');
      if (input[p] === 0 && input[p + 1] === 0) break;
      const [item, next] = readElement(cursor, p, limit, depth + 1);
      children.push(item);
      p = next;
    }
    contentEnd = p;
    end = p + 2;
  } else {
    contentEnd = header.contentEnd;
    end = contentEnd;
    if (header.constructed) {
      let p = contentStart;
      while (p < contentEnd) {
        const [item, next] = readElement(cursor, p, contentEnd, depth + 1);
        children.push(item);
        p = next;
      }
    }
  }
  const node: BerNode = {
    tag: header.first,
    tagClass: header.first & 0xc0,
    constructed: header.constructed,
    tagNumber: header.tagNumber,
    bytes: input.subarray(offset, end),
    value: input.subarray(contentStart, contentEnd),
    children,
  };
  return [node, end];
}

/** A node of the DER walk: offsets only, with bytes, value and children read on access. */
class DerNode implements BerNode {
  readonly tag: number;
  readonly tagClass: number;
  readonly constructed: boolean;
  readonly tagNumber: number;

  constructor(
    private readonly cursor: Cursor,
    private readonly start: number,
    private readonly contentStart: number,
    readonly end: number,
    private readonly depth: number,
    header: Header,
  ) {
    this.tag = header.first;
    this.tagClass = header.first & 0xc0;
    this.constructed = header.constructed;
    this.tagNumber = header.tagNumber;
  }

  get bytes(): Uint8Array {
    return this.cursor.input.subarray(this.start, this.end);
  }

  get value(): Uint8Array {
    return this.cursor.input.subarray(this.contentStart, this.end);
  }

  get children(): BerNode[] {
    const items: DerNode[] = [];
    if (!this.constructed) return items;
    for (let p = this.contentStart; p < this.end; p = (items[items.length - 1] as DerNode).end) {
      items.push(readShallow(this.cursor, p, this.end, this.depth + 1));
    }
    return items;
  }
}

function readShallow(cursor: Cursor, offset: number, limit: number, depth: number): DerNode {
  if (depth > MAX_DEPTH) fail(cursor, 'nesting is too deep');
  const header = readHeader(cursor, offset, limit);
  return new DerNode(
    cursor,
    offset,
    header.contentStart,
    header.contentEnd as number,
    depth,
    header,
  );
}

export function isTag(node: BerNode | undefined, tag: number): node is BerNode {
  return node !== undefined && node.tag === tag;
}

/** Context-specific tag number `n` (implicit or explicit), e.g. [0] → 0xa0 or 0x80. */
export function isContext(node: BerNode | undefined, n: number): node is BerNode {
  return node !== undefined && node.tagClass === 0x80 && node.tagNumber === n;
}

export function expectTag(
  node: BerNode | undefined,
  tag: number,
  code: string,
  what: string,
): BerNode {
  if (node === undefined || node.tag !== tag) {
    throw new PkiError(code, `${what}: unexpected structure`);
  }
  return node;
}

export function child(node: BerNode, index: number, code: string, what: string): BerNode {
  const c = node.children[index];
  if (c === undefined) throw new PkiError(code, `${what}: missing element`);
  return c;
}

export function readOid(node: BerNode | undefined, code: string): string {
  if (node === undefined || node.tag !== TAG.oid || node.value.length === 0) {
    throw new PkiError(code, 'expected an object identifier');
  }
  const parts: bigint[] = [];
  let value = 0n;
  let octets = 0;
  for (const b of node.value) {
    if (++octets > MAX_ARC_OCTETS) throw new PkiError(code, 'object identifier arc is too large');
    value = (value << 7n) | BigInt(b & 0x7f);
    if ((b & 0x80) === 0) {
      if (parts.length === 0) {
        const first = value < 40n ? 0n : value < 80n ? 1n : 2n;
        parts.push(first, value - first * 40n);
      } else {
        parts.push(value);
      }
      value = 0n;
      octets = 0;
    }
  }
  if ((node.value[node.value.length - 1] as number) & 0x80) {
    throw new PkiError(code, 'truncated object identifier');
  }
  return parts.join('.');
}

export function readInteger(node: BerNode | undefined, code: string): bigint {
  if (node === undefined || node.tag !== TAG.integer || node.value.length === 0) {
    throw new PkiError(code, 'expected an integer');
  }
  return bytesToSigned(node.value);
}

export function readSmallInteger(node: BerNode | undefined, code: string): number {
  const n = readInteger(node, code);
  if (n < -0x7fffffffn || n > 0x7fffffffn) throw new PkiError(code, 'integer is too large');
  return Number(n);
}

function bytesToSigned(bytes: Uint8Array): bigint {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  if (((bytes[0] as number) & 0x80) !== 0) n -= 1n << BigInt(bytes.length * 8);
  return n;
}

/** Contents of an OCTET STRING, joining the segments of a constructed (BER) one. */
export function readOctets(
  node: BerNode | undefined,
  code: string,
  tag: number = TAG.octetString,
): Uint8Array {
  if (node === undefined) throw new PkiError(code, 'expected an octet string');
  const primitiveTag = tag & ~0x20;
  if (node.tag === primitiveTag && !node.constructed) return node.value;
  if (node.tag === (primitiveTag | 0x20)) {
    return concatBytes(node.children.map((c) => readOctets(c, code, TAG.octetString)));
  }
  throw new PkiError(code, 'expected an octet string');
}

export function readBitString(node: BerNode | undefined, code: string): Uint8Array {
  if (node === undefined || node.tag !== TAG.bitString || node.value.length === 0) {
    throw new PkiError(code, 'expected a bit string');
  }
  return node.value.subarray(1);
}

/**
 * UTCTime or GeneralizedTime (Zulu, optional fraction) as a Date. `strict`, as RFC 5280 wants for
 * certificates and CRLs: the seconds must be written and the date must exist in the calendar.
 */
export function readTime(
  node: BerNode | undefined,
  code: string,
  options: { strict?: boolean } = {},
): Date {
  if (node === undefined || (node.tag !== TAG.utcTime && node.tag !== TAG.generalizedTime)) {
    throw new PkiError(code, 'expected a time');
  }
  const text = latin1(node.value);
  const m =
    node.tag === TAG.utcTime
      ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?Z$/.exec(text)
      : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?(?:\.(\d{1,9}))?Z$/.exec(text);
  if (m === null || (options.strict && m[6] === undefined)) {
    throw new PkiError(code, 'bad time format');
  }
  let year = Number(m[1]);
  if (node.tag === TAG.utcTime) year += year < 50 ? 2000 : 1900;
  const [day, hour] = [Number(m[3]), Number(m[4])];
  const ms = m[7] === undefined ? 0 : Math.floor(Number(`0.${m[7]}`) * 1000);
  const date = new Date(
    Date.UTC(year, Number(m[2]) - 1, day, hour, Number(m[5]), Number(m[6] ?? 0)),
  );
  if (Number.isNaN(date.getTime())) throw new PkiError(code, 'bad time value');
  if (options.strict && (date.getUTCDate() !== day || date.getUTCHours() !== hour)) {
    throw new PkiError(code, 'time out of range');
  }
  return new Date(date.getTime() + ms);
}

export function readString(node: BerNode | undefined, code: string): string {
  if (node === undefined) throw new PkiError(code, 'expected a string');
  switch (node.tag) {
    case TAG.utf8String:
      return new TextDecoder('utf-8', { fatal: false }).decode(node.value);
    case TAG.bmpString: {
      let s = '';
      for (let i = 0; i + 1 < node.value.length; i += 2) {
        s += String.fromCharCode(((node.value[i] as number) << 8) | (node.value[i + 1] as number));
      }
      return s;
    }
    case TAG.printableString:
    case TAG.ia5String:
    case TAG.t61String:
    case TAG.visibleString:
    case TAG.numericString:
      return latin1(node.value);
    default:
      throw new PkiError(code, 'expected a string');
  }
}

function latin1(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');
}

/** Unsigned hex of an INTEGER's content octets: lowercase, without sign-padding zeros. */
export function integerHex(content: Uint8Array): string {
  const hex = toHex(content).replace(/^(00)+/, '');
  return hex === '' ? '00' : hex;
}

/** Serial hex in the form integerHex gives: lowercase, even length, no leading zero octets. */
export function normalSerialHex(serialHex: string): string {
  const digits = serialHex.toLowerCase().replace(/[\s:]/g, '').replace(/^0+/, '');
  if (digits === '') return '00';
  return digits.length % 2 === 1 ? `0${digits}` : digits;
}

export interface RawExtension {
  oid: string;
  critical: boolean;
  /** Content of extnValue: the DER of the extension's own value. */
  value: Uint8Array;
}

/** Extensions ::= SEQUENCE OF Extension, each { extnID, critical DEFAULT FALSE, extnValue }. */
export function readExtensionList(list: BerNode, code: string): RawExtension[] {
  if (list.tag !== TAG.sequence) throw new PkiError(code, 'extensions are not a SEQUENCE');
  const seen = new Set<string>();
  return list.children.map((item) => {
    const parts = item.children;
    const [idNode, second, third] = parts;
    if (item.tag !== TAG.sequence || !isTag(idNode, TAG.oid) || parts.length > 3) {
      throw new PkiError(code, 'malformed extension');
    }
    const oid = readOid(idNode, code);
    if (seen.has(oid)) throw new PkiError(code, `extension ${oid} appears twice`);
    seen.add(oid);
    const critical = second?.tag === TAG.boolean && second.value[0] !== 0;
    const valueNode = second?.tag === TAG.boolean ? third : second;
    if (!isTag(valueNode, TAG.octetString)) throw new PkiError(code, 'extension value');
    return { oid, critical, value: valueNode.value };
  });
}

// ---- DER writer ----

function encodeLength(length: number): Uint8Array {
  if (length < 0x80) return Uint8Array.of(length);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

/** One TLV with a single-octet tag. */
export function tlv(tag: number, content: Uint8Array): Uint8Array {
  return concatBytes([Uint8Array.of(tag), encodeLength(content.length), content]);
}

/** The content octets of one DER TLV with a single-octet tag: its tag and length cut off. */
export function tlvContent(encoded: Uint8Array): Uint8Array {
  const first = encoded[1] ?? 0;
  return encoded.subarray(first < 0x80 ? 2 : 2 + (first & 0x7f));
}

export const der = {
  sequence: (...items: Uint8Array[]) => tlv(TAG.sequence, concatBytes(items)),
  set: (...items: Uint8Array[]) => tlv(TAG.set, concatBytes(items)),
  /** SET OF in DER order (elements sorted by their encodings). */
  setOf: (items: readonly Uint8Array[]) => tlv(TAG.set, concatBytes(sortEncodings(items))),
  integer: (value: bigint | number) => tlv(TAG.integer, signedBytes(BigInt(value))),
  /** An INTEGER from unsigned big-endian bytes (e.g. a serial number). */
  unsignedInteger: (bytes: Uint8Array) => {
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === 0) start++;
    const trimmed = bytes.subarray(start);
    const pad = ((trimmed[0] ?? 0) & 0x80) !== 0 || trimmed.length === 0;
    return tlv(TAG.integer, pad ? concatBytes([Uint8Array.of(0), trimmed]) : trimmed);
  },
  /** An INTEGER from a serial number in hex (leading zeros and an odd digit count allowed). */
  serial: (hex: string) => {
    const digits = hex.replace(/^0+/, '') || '0';
    const even = digits.length % 2 === 1 ? `0${digits}` : digits;
    return der.unsignedInteger(Uint8Array.from(Buffer.from(even, 'hex')));
  },
  enumerated: (value: number) => tlv(TAG.enumerated, signedBytes(BigInt(value))),
  boolean: (value: boolean) => tlv(TAG.boolean, Uint8Array.of(value ? 0xff : 0)),
  null: () => Uint8Array.of(0x05, 0x00),
  oid: (dotted: string) => tlv(TAG.oid, encodeOid(dotted)),
  octetString: (bytes: Uint8Array) => tlv(TAG.octetString, bytes),
  bitString: (bytes: Uint8Array) => tlv(TAG.bitString, concatBytes([Uint8Array.of(0), bytes])),
  utf8: (text: string) => tlv(TAG.utf8String, new TextEncoder().encode(text)),
  printable: (text: string) => tlv(TAG.printableString, Buffer.from(text, 'latin1')),
  ia5: (text: string) => tlv(TAG.ia5String, Buffer.from(text, 'latin1')),
  bmp: (text: string) => tlv(TAG.bmpString, bmpBytes(text)),
  utcTime: (date: Date) => tlv(TAG.utcTime, Buffer.from(formatTime(date, true), 'latin1')),
  generalizedTime: (date: Date, withMillis = false) =>
    tlv(TAG.generalizedTime, Buffer.from(formatTime(date, false, withMillis), 'latin1')),
  /** RFC 5280 Time: UTCTime for 1950 to 2049, GeneralizedTime outside those years. */
  time: (date: Date) =>
    date.getUTCFullYear() >= 1950 && date.getUTCFullYear() < 2050
      ? der.utcTime(date)
      : der.generalizedTime(date),
  /** [n] EXPLICIT: a constructed context tag around an encoded element. */
  explicit: (n: number, ...items: Uint8Array[]) => tlv(0xa0 | n, concatBytes(items)),
  /** [n] IMPLICIT on primitive content. */
  implicitPrimitive: (n: number, content: Uint8Array) => tlv(0x80 | n, content),
  /** [n] IMPLICIT on constructed content (e.g. a SET or SEQUENCE retagged). */
  implicitConstructed: (n: number, content: Uint8Array) => tlv(0xa0 | n, content),
};

export function bmpBytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length * 2);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    out[2 * i] = c >> 8;
    out[2 * i + 1] = c & 0xff;
  }
  return out;
}

function sortEncodings(items: readonly Uint8Array[]): Uint8Array[] {
  return [...items].sort((a, b) => {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
      const d = (a[i] as number) - (b[i] as number);
      if (d !== 0) return d;
    }
    return a.length - b.length;
  });
}

function signedBytes(value: bigint): Uint8Array {
  const bytes: number[] = [];
  let n = value;
  for (;;) {
    const b = Number(n & 0xffn);
    bytes.unshift(b);
    n >>= 8n;
    if ((n === 0n && (b & 0x80) === 0) || (n === -1n && (b & 0x80) !== 0)) break;
  }
  return Uint8Array.from(bytes);
}

export function encodeOid(dotted: string): Uint8Array {
  const parts = dotted.split('.').map((p) => BigInt(p));
  if (parts.length < 2) throw new PkiError('asn1.oid', `bad object identifier ${dotted}`);
  const arcs = [(parts[0] as bigint) * 40n + (parts[1] as bigint), ...parts.slice(2)];
  const out: number[] = [];
  for (const arc of arcs) {
    const group: number[] = [Number(arc & 0x7fn)];
    for (let n = arc >> 7n; n > 0n; n >>= 7n) group.unshift(Number(n & 0x7fn) | 0x80);
    out.push(...group);
  }
  return Uint8Array.from(out);
}

function formatTime(date: Date, utc: boolean, withMillis = false): string {
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const year = utc ? pad(date.getUTCFullYear() % 100) : pad(date.getUTCFullYear(), 4);
  const millis = date.getUTCMilliseconds();
  const fraction = withMillis && millis !== 0 ? `.${pad(millis, 3).replace(/0+$/, '')}` : '';
  return (
    year +
    pad(date.getUTCMonth() + 1) +
    pad(date.getUTCDate()) +
    pad(date.getUTCHours()) +
    pad(date.getUTCMinutes()) +
    pad(date.getUTCSeconds()) +
    fraction +
    'Z'
  );
}
