// GOST R 34.11-94 hash (RFC 5831) over the GOST 28147-89 block cipher with a chosen S-box:
// the test parameter set used by NCA RK for GOST 34.310-2004, or the CryptoPro one (RFC 4357).

import { PkiError } from '../errors.js';

/** Eight 16-entry substitution rows; row r substitutes bits 4r..4r+3 of the 32-bit word. */
export type SBox = readonly (readonly number[])[];

/** GostR3411_94_TestParamSet (RFC 5831, section 7.3.1). */
export const TEST_SBOX: SBox = [
  [4, 10, 9, 2, 13, 8, 0, 14, 6, 11, 1, 12, 7, 15, 5, 3],
  [14, 11, 4, 12, 6, 13, 15, 10, 2, 3, 8, 1, 0, 7, 5, 9],
  [5, 8, 1, 13, 10, 3, 4, 2, 14, 15, 12, 7, 6, 0, 9, 11],
  [7, 13, 10, 1, 0, 8, 9, 15, 14, 4, 6, 12, 11, 2, 5, 3],
  [6, 12, 7, 1, 5, 15, 13, 8, 4, 10, 9, 14, 0, 3, 11, 2],
  [4, 11, 10, 0, 7, 2, 1, 13, 3, 6, 8, 5, 9, 12, 15, 14],
  [13, 11, 4, 1, 3, 15, 5, 9, 0, 10, 14, 7, 6, 8, 2, 12],
  [1, 15, 13, 0, 5, 7, 10, 4, 9, 2, 3, 14, 6, 11, 8, 12],
];

/** id-GostR3411-94-CryptoProParamSet (RFC 4357, section 11.2). */
export const CRYPTOPRO_SBOX: SBox = [
  [10, 4, 5, 6, 8, 1, 3, 7, 13, 12, 14, 0, 9, 2, 11, 15],
  [5, 15, 4, 0, 2, 13, 11, 9, 1, 7, 6, 3, 12, 14, 10, 8],
  [7, 15, 12, 14, 9, 4, 1, 0, 3, 11, 5, 2, 6, 10, 8, 13],
  [4, 10, 7, 12, 0, 15, 2, 8, 14, 1, 6, 5, 13, 11, 9, 3],
  [7, 6, 4, 11, 9, 12, 2, 10, 1, 8, 0, 14, 15, 13, 3, 5],
  [7, 6, 2, 4, 13, 9, 15, 0, 10, 1, 5, 11, 8, 14, 12, 3],
  [13, 14, 4, 1, 7, 0, 5, 10, 3, 12, 8, 15, 6, 2, 9, 11],
  [1, 3, 10, 9, 5, 11, 4, 15, 8, 6, 7, 14, 13, 0, 2, 12],
];

/**
 * The cipher's round function without the key addition: four byte-wide tables, each already
 * holding S-box substitution of two nibbles followed by the rotation left by 11.
 */
type RoundTables = readonly [Uint32Array, Uint32Array, Uint32Array, Uint32Array];

const tableCache = new WeakMap<SBox, RoundTables>();

function roundTables(sbox: SBox): RoundTables {
  const cached = tableCache.get(sbox);
  if (cached) return cached;
  const make = (byte: number): Uint32Array => {
    const low = sbox[2 * byte] ?? [];
    const high = sbox[2 * byte + 1] ?? [];
    const out = new Uint32Array(256);
    for (let v = 0; v < 256; v++) {
      const s = (((high[v >>> 4] ?? 0) << 4) | (low[v & 15] ?? 0)) << (8 * byte);
      out[v] = ((s << 11) | (s >>> 21)) >>> 0;
    }
    return out;
  };
  const tables: RoundTables = [make(0), make(1), make(2), make(3)];
  tableCache.set(sbox, tables);
  return tables;
}

/** Encrypts the 64-bit block (lo, hi) with GOST 28147-89 in simple-substitution mode. */
function encryptBlock(t: RoundTables, key: Uint32Array, lo: number, hi: number): [number, number] {
  const [t0, t1, t2, t3] = t;
  let n1 = lo;
  let n2 = hi;
  for (let round = 0; round < 32; round++) {
    const k = key[round < 24 ? round & 7 : 7 - (round & 7)] as number;
    const x = (n1 + k) >>> 0;
    const f =
      (t0[x & 0xff] as number) ^
      (t1[(x >>> 8) & 0xff] as number) ^
      (t2[(x >>> 16) & 0xff] as number) ^
      (t3[x >>> 24] as number);
    const next = (n2 ^ f) >>> 0;
    n2 = n1;
    n1 = next;
  }
  // The last round does not swap the halves.
  return [n2, n1];
}

/** In place: A(Y) = (y1 xor y2) || y4 || y3 || y2 on 64-bit words, y1 the least significant. */
function transformA(y: Uint8Array): void {
  for (let i = 0; i < 8; i++) {
    const y1 = y[i] as number;
    const y2 = y[8 + i] as number;
    y[i] = y2;
    y[8 + i] = y[16 + i] as number;
    y[16 + i] = y[24 + i] as number;
    y[24 + i] = y1 ^ y2;
  }
}

/** key = P(u xor v) as eight little-endian words: byte 8i + k goes to byte i + 4k. */
function transformP(u: Uint8Array, v: Uint8Array, key: Uint32Array): void {
  for (let word = 0; word < 8; word++) {
    let value = 0;
    for (let byte = 0; byte < 4; byte++) {
      // Key byte 4 * word + byte = i + 4k with i = byte, k = word.
      const from = 8 * byte + word;
      value |= ((u[from] as number) ^ (v[from] as number)) << (8 * byte);
    }
    key[word] = value >>> 0;
  }
}

/** The constant C3 of the key schedule, little-endian byte order. */
const C3 = Uint8Array.from([
  0x00, 0xff, 0x00, 0xff, 0x00, 0xff, 0x00, 0xff, 0xff, 0x00, 0xff, 0x00, 0xff, 0x00, 0xff, 0x00,
  0x00, 0xff, 0xff, 0x00, 0xff, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00, 0x00, 0xff, 0xff, 0x00, 0xff,
]);

/**
 * psi on sixteen 16-bit words y1..y16 (y1 first) drops y1 and appends y1^y2^y3^y4^y13^y16, so
 * repeated psi is a running sequence: word t + 16 = words t, t+1, t+2, t+3, t+12, t+15 xored.
 * The state after 12, 1 and 61 applications is a 16-word window of this buffer.
 */
const PSI_STEPS = 12 + 1 + 61;

function extendPsi(buffer: Uint16Array, from: number, count: number): void {
  for (let t = from; t < from + count; t++) {
    buffer[t + 16] =
      (buffer[t] as number) ^
      (buffer[t + 1] as number) ^
      (buffer[t + 2] as number) ^
      (buffer[t + 3] as number) ^
      (buffer[t + 12] as number) ^
      (buffer[t + 15] as number);
  }
}

/** Scratch space of the step function (the code is synchronous). */
const scratch = {
  u: new Uint8Array(32),
  v: new Uint8Array(32),
  keys: [new Uint32Array(8), new Uint32Array(8), new Uint32Array(8), new Uint32Array(8)],
  psi: new Uint16Array(16 + PSI_STEPS),
};

const word16 = (bytes: Uint8Array, i: number): number =>
  (bytes[2 * i] as number) | ((bytes[2 * i + 1] as number) << 8);

/** The step function: h = f(h, m), in place. */
function step(tables: RoundTables, h: Uint8Array, m: Uint8Array): void {
  const { u, v, keys, psi } = scratch;
  u.set(h);
  v.set(m);
  for (let j = 0; j < 4; j++) {
    if (j > 0) {
      transformA(u);
      if (j === 2) for (let i = 0; i < 32; i++) u[i] = (u[i] as number) ^ (C3[i] as number);
      transformA(v);
      transformA(v);
    }
    transformP(u, v, keys[j] as Uint32Array);
  }
  // S = E_K1(h1) || ... || E_K4(h4), written straight into the first 16 psi words.
  for (let i = 0; i < 4; i++) {
    const o = 8 * i;
    const lo =
      ((h[o] as number) |
        ((h[o + 1] as number) << 8) |
        ((h[o + 2] as number) << 16) |
        ((h[o + 3] as number) << 24)) >>>
      0;
    const hi =
      ((h[o + 4] as number) |
        ((h[o + 5] as number) << 8) |
        ((h[o + 6] as number) << 16) |
        ((h[o + 7] as number) << 24)) >>>
      0;
    const [a, b] = encryptBlock(tables, keys[i] as Uint32Array, lo, hi);
    psi[4 * i] = a & 0xffff;
    psi[4 * i + 1] = a >>> 16;
    psi[4 * i + 2] = b & 0xffff;
    psi[4 * i + 3] = b >>> 16;
  }
  extendPsi(psi, 0, 12);
  for (let i = 0; i < 16; i++) psi[12 + i] = (psi[12 + i] as number) ^ word16(m, i);
  extendPsi(psi, 12, 1);
  for (let i = 0; i < 16; i++) psi[13 + i] = (psi[13 + i] as number) ^ word16(h, i);
  extendPsi(psi, 13, 61);
  for (let i = 0; i < 16; i++) {
    const w = psi[PSI_STEPS + i] as number;
    h[2 * i] = w & 0xff;
    h[2 * i + 1] = w >>> 8;
  }
}

/** acc = (acc + x) mod 2^256, both little-endian. */
function add256(acc: Uint8Array, x: Uint8Array): void {
  let carry = 0;
  for (let i = 0; i < 32; i++) {
    const sum = (acc[i] as number) + (x[i] as number) + carry;
    acc[i] = sum & 0xff;
    carry = sum >>> 8;
  }
}

/**
 * Incremental GOST R 34.11-94 with a zero starting vector. Input and digest are byte strings
 * in the order used by RFC 5831 test vectors and by CMS messageDigest attributes.
 */
export class Gost94 {
  private readonly tables: RoundTables;
  private readonly h = new Uint8Array(32);
  private readonly sigma = new Uint8Array(32);
  private bitLength = 0n;
  private readonly pending = new Uint8Array(32);
  private pendingLength = 0;
  private finished = false;

  constructor(sbox: SBox) {
    this.tables = roundTables(sbox);
  }

  update(data: Uint8Array): this {
    if (this.finished)
      throw new PkiError('digest.finished', 'GOST R 34.11-94: update after digest');
    let offset = 0;
    if (this.pendingLength > 0) {
      const take = Math.min(32 - this.pendingLength, data.length);
      this.pending.set(data.subarray(0, take), this.pendingLength);
      this.pendingLength += take;
      offset = take;
      if (this.pendingLength < 32) return this;
      this.absorb(this.pending, 256);
      this.pendingLength = 0;
    }
    while (data.length - offset >= 32) {
      this.absorb(data.subarray(offset, offset + 32), 256);
      offset += 32;
    }
    this.pending.set(data.subarray(offset), 0);
    this.pendingLength = data.length - offset;
    return this;
  }

  digest(): Uint8Array {
    if (this.finished)
      throw new PkiError('digest.finished', 'GOST R 34.11-94: digest called twice');
    this.finished = true;
    if (this.pendingLength > 0) {
      const last = new Uint8Array(32);
      last.set(this.pending.subarray(0, this.pendingLength));
      this.absorb(last, this.pendingLength * 8);
    }
    const length = new Uint8Array(32);
    let bits = this.bitLength;
    for (let i = 0; i < 32 && bits > 0n; i++) {
      length[i] = Number(bits & 0xffn);
      bits >>= 8n;
    }
    step(this.tables, this.h, length);
    step(this.tables, this.h, this.sigma);
    return this.h.slice();
  }

  private absorb(block: Uint8Array, bits: number): void {
    step(this.tables, this.h, block);
    add256(this.sigma, block);
    this.bitLength += BigInt(bits);
  }
}

export function gost94(sbox: SBox, data: Uint8Array): Uint8Array {
  return new Gost94(sbox).update(data).digest();
}
