// Minimal strict DER reader and writer: walks TLVs to reach raw bytes (TBS, names) that typed
// parsers do not keep, and encodes the few structures the builders sign (CRL, OCSP response).

import { PkiError } from './errors.js';

/** Deepest nesting accepted while walking untrusted DER. */
const MAX_DEPTH = 64;

export interface Tlv {
  /** The identifier octet (single-byte tags only, which covers X.509, CRL, OCSP and CMS). */
  tag: number;
  /** Offset of the identifier octet in the source. */
  start: number;
  /** Offset of the first content octet. */
  contentStart: number;
  /** Offset just past the last content octet. */
  end: number;
  constructed: boolean;
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
  printableString: 0x13,
  ia5String: 0x16,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

function malformed(code: string, message: string): PkiError {
  return new PkiError(code, message);
}

/** Reads one TLV at `offset`, requiring it to end within `limit`. */
export function readTlv(
  bytes: Uint8Array,
  offset = 0,
  limit = bytes.length,
  code = 'der.malformed',
): Tlv {
  if (offset + 2 > limit) throw malformed(code, 'truncated DER header');
  const tag = bytes[offset] as number;
  if ((tag & 0x1f) === 0x1f) throw malformed(code, 'multi-byte DER tags are not supported');
  const first = bytes[offset + 1] as number;
  let length: number;
  let contentStart: number;
  if (first < 0x80) {
    length = first;
    contentStart = offset + 2;
  } else {
    const count = first & 0x7f;
    if (count === 0) throw malformed(code, 'indefinite length is not DER');
    if (count > 4) throw malformed(code, 'DER length too large');
    if (offset + 2 + count > limit) throw malformed(code, 'truncated DER length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (bytes[offset + 2 + i] as number);
    contentStart = offset + 2 + count;
  }
  const end = contentStart + length;
  if (end > limit) throw malformed(code, 'DER value runs past its container');
  return { tag, start: offset, contentStart, end, constructed: (tag & 0x20) !== 0 };
}

/** The TLVs directly inside a constructed value. */
export function readChildren(bytes: Uint8Array, parent: Tlv, code = 'der.malformed'): Tlv[] {
  const items: Tlv[] = [];
  let offset = parent.contentStart;
  while (offset < parent.end) {
    const item = readTlv(bytes, offset, parent.end, code);
    items.push(item);
    offset = item.end;
  }
  return items;
}

/** Follows a path of child indexes from the outermost TLV, e.g. [0, 5] = TBS subject. */
export function tlvAt(bytes: Uint8Array, path: number[], code = 'der.malformed'): Tlv {
  if (path.length > MAX_DEPTH) throw malformed(code, 'DER path too deep');
  let node = readTlv(bytes, 0, bytes.length, code);
  for (const index of path) {
    const child = readChildren(bytes, node, code)[index];
    if (!child) throw malformed(code, 'DER element missing');
    node = child;
  }
  return node;
}

export function tlvBytes(bytes: Uint8Array, tlv: Tlv): Uint8Array {
  return bytes.subarray(tlv.start, tlv.end);
}

export function contentBytes(bytes: Uint8Array, tlv: Tlv): Uint8Array {
  return bytes.subarray(tlv.contentStart, tlv.end);
}

function encodeLength(length: number): Uint8Array {
  if (length < 0x80) return Uint8Array.of(length);
  const octets: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) octets.unshift(rest & 0xff);
  return Uint8Array.of(0x80 | octets.length, ...octets);
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export function encodeTlv(tag: number, ...content: Uint8Array[]): Uint8Array {
  const body = concatBytes(...content);
  return concatBytes(Uint8Array.of(tag), encodeLength(body.length), body);
}

export function encodeSequence(...items: Uint8Array[]): Uint8Array {
  return encodeTlv(TAG.sequence, ...items);
}

/** Context-specific tag [n]; constructed unless `primitive`. */
export function encodeContext(n: number, content: Uint8Array, primitive = false): Uint8Array {
  return encodeTlv((primitive ? 0x80 : 0xa0) | n, content);
}

export function encodeOid(oid: string): Uint8Array {
  const arcs = oid.split('.').map((arc) => BigInt(arc));
  const [a = 0n, b = 0n, ...rest] = arcs;
  const body: number[] = [];
  for (const arc of [a * 40n + b, ...rest]) {
    const chunk: number[] = [];
    let value = arc;
    do {
      chunk.unshift(Number(value & 0x7fn));
      value >>= 7n;
    } while (value > 0n);
    for (let i = 0; i < chunk.length - 1; i++) chunk[i] = (chunk[i] as number) | 0x80;
    body.push(...chunk);
  }
  return encodeTlv(TAG.oid, Uint8Array.from(body));
}

export function decodeOid(content: Uint8Array): string {
  const arcs: bigint[] = [];
  let value = 0n;
  for (const octet of content) {
    value = (value << 7n) | BigInt(octet & 0x7f);
    if ((octet & 0x80) === 0) {
      arcs.push(value);
      value = 0n;
    }
  }
  const [first = 0n, ...rest] = arcs;
  const head = first < 80n ? [first / 40n, first % 40n] : [2n, first - 80n];
  return [...head, ...rest].join('.');
}

/** INTEGER from unsigned big-endian hex (a serial number) or a small non-negative number. */
export function encodeInteger(value: string | number | bigint): Uint8Array {
  let hex = typeof value === 'string' ? value.replace(/^0+/, '') : BigInt(value).toString(16);
  if (hex === '') hex = '0';
  if (hex.length % 2 === 1) hex = `0${hex}`;
  let body: Uint8Array = Uint8Array.from(Buffer.from(hex, 'hex'));
  if (((body[0] as number) & 0x80) !== 0) body = concatBytes(Uint8Array.of(0), body);
  return encodeTlv(TAG.integer, body);
}

export function encodeEnumerated(value: number): Uint8Array {
  return encodeTlv(TAG.enumerated, Uint8Array.of(value));
}

export function encodeOctetString(content: Uint8Array): Uint8Array {
  return encodeTlv(TAG.octetString, content);
}

export function encodeBitString(content: Uint8Array): Uint8Array {
  return encodeTlv(TAG.bitString, Uint8Array.of(0), content);
}

export function encodeNull(): Uint8Array {
  return Uint8Array.of(TAG.null, 0);
}

export function encodeBoolean(value: boolean): Uint8Array {
  return Uint8Array.of(TAG.boolean, 1, value ? 0xff : 0);
}

/** GeneralizedTime with whole seconds, as RFC 5280 and RFC 6960 require. */
export function encodeGeneralizedTime(at: Date): Uint8Array {
  const text = at
    .toISOString()
    .replace(/[-:T]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return encodeTlv(TAG.generalizedTime, new TextEncoder().encode(text));
}

/** RFC 5280 Time: UTCTime through 2049, GeneralizedTime after. */
export function encodeTime(at: Date): Uint8Array {
  const year = at.getUTCFullYear();
  if (year < 1950 || year > 2049) return encodeGeneralizedTime(at);
  const text = at
    .toISOString()
    .slice(2)
    .replace(/[-:T]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return encodeTlv(TAG.utcTime, new TextEncoder().encode(text));
}

/** Unsigned hex of an INTEGER's content octets: lowercase, without sign-padding zeros. */
export function integerHex(content: Uint8Array): string {
  const hex = Buffer.from(content)
    .toString('hex')
    .replace(/^(00)+/, '');
  return hex === '' ? '00' : hex;
}

/** Serial hex in the form integerHex gives: lowercase, even length, no leading zero octets. */
export function normalSerialHex(serialHex: string): string {
  const digits = serialHex.toLowerCase().replace(/[\s:]/g, '').replace(/^0+/, '');
  if (digits === '') return '00';
  return digits.length % 2 === 1 ? `0${digits}` : digits;
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a).equals(Buffer.from(b));
}

/** UTCTime or GeneralizedTime (Zulu, optional fraction) as a Date; PkiError(code) otherwise. */
export function decodeTime(bytes: Uint8Array, tlv: Tlv, code = 'der.malformed'): Date {
  const text = Buffer.from(contentBytes(bytes, tlv)).toString('latin1');
  let match: RegExpExecArray | null;
  let year: number;
  if (tlv.tag === TAG.utcTime) {
    match = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
    if (!match) throw malformed(code, 'bad UTCTime');
    const short = Number(match[1]);
    year = short >= 50 ? 1900 + short : 2000 + short;
  } else if (tlv.tag === TAG.generalizedTime) {
    match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d{1,9}))?Z$/.exec(text);
    if (!match) throw malformed(code, 'bad GeneralizedTime');
    year = Number(match[1]);
  } else {
    throw malformed(code, 'expected a time');
  }
  const [, , month, day, hour, minute, second] = match.map(Number) as number[];
  const millis = tlv.tag === TAG.generalizedTime ? Number(`0.${match[7] ?? '0'}`) * 1000 : 0;
  const date = new Date(
    Date.UTC(year, (month as number) - 1, day, hour, minute, second, Math.floor(millis)),
  );
  if (Number.isNaN(date.getTime()) || date.getUTCDate() !== day || date.getUTCHours() !== hour) {
    throw malformed(code, 'time out of range');
  }
  return date;
}

/** A non-negative INTEGER as a bigint. */
export function decodeUnsigned(bytes: Uint8Array, tlv: Tlv, code = 'der.malformed'): bigint {
  if (tlv.tag !== TAG.integer || tlv.end === tlv.contentStart) {
    throw malformed(code, 'expected an INTEGER');
  }
  const content = contentBytes(bytes, tlv);
  if (((content[0] as number) & 0x80) !== 0) throw malformed(code, 'negative INTEGER');
  return BigInt(`0x${toHex(content)}`);
}

export interface RawExtension {
  oid: string;
  critical: boolean;
  /** Content of extnValue: the DER of the extension's own value. */
  value: Uint8Array;
}

/** Extensions ::= SEQUENCE OF Extension, each { extnID, critical DEFAULT FALSE, extnValue }. */
export function readExtensionList(
  bytes: Uint8Array,
  list: Tlv,
  code = 'der.malformed',
): RawExtension[] {
  if (list.tag !== TAG.sequence) throw malformed(code, 'extensions are not a SEQUENCE');
  const seen = new Set<string>();
  return readChildren(bytes, list, code).map((item) => {
    const parts = readChildren(bytes, item, code);
    const [idTlv, second, third] = parts;
    if (item.tag !== TAG.sequence || !idTlv || idTlv.tag !== TAG.oid || parts.length > 3) {
      throw malformed(code, 'malformed extension');
    }
    const oid = decodeOid(contentBytes(bytes, idTlv));
    if (seen.has(oid)) throw malformed(code, `extension ${oid} appears twice`);
    seen.add(oid);
    const critical = second?.tag === TAG.boolean && bytes[second.contentStart] !== 0;
    const valueTlv = second?.tag === TAG.boolean ? third : second;
    if (!valueTlv || valueTlv.tag !== TAG.octetString) throw malformed(code, 'extension value');
    return { oid, critical, value: contentBytes(bytes, valueTlv) };
  });
}
