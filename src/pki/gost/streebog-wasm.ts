// The Streebog compression function g_N as generated WebAssembly over 64-bit words: the merged
// LPS tables live in the module's memory and every step is straight-line code.

import { Body, OP, instantiate, type WasmFunction } from './wasm-emit.js';

/** Byte addresses in the module's memory. */
export const STREEBOG_MEMORY = {
  /** LPS table: entry (j, b) at (j * 256 + b) * 8, a little-endian 64-bit word. */
  table: 0,
  /** Round constants C1..C12, 64 bytes each. */
  constants: 16384,
  k: 17152,
  s: 17216,
  t: 17280,
  h: 17344,
  n: 17408,
  sigma: 17472,
  zero: 17536,
  /** The 512-bit number 512, added to N per full block. */
  blockBits: 17600,
  /** Free 64-byte block (padding, bit counts). */
  spare: 17664,
  /** Input blocks copied in by the caller. */
  input: 18432,
  inputBytes: 65536 - 18432 - ((65536 - 18432) % 64),
} as const;

export interface StreebogEngine {
  memory: { readonly buffer: ArrayBuffer };
  /** h = g_N(h, m) for addresses h, n, m. */
  compress(h: number, n: number, m: number): void;
  /** dst = (dst + src) mod 2^512. */
  add512(dst: number, src: number): void;
  /** One full block at address m: h = g_N(h, m), N += 512, Sigma += m (fixed addresses). */
  absorb(m: number): void;
}

const FN = { lps: 0, xor: 1, compress: 2, add512: 3, absorb: 4 } as const;

/** lps(dst, src): output word i = XOR over j of table[j][byte i of input word j]. */
function lpsFunction(): WasmFunction {
  const [dst, src] = [0, 1];
  const f = new Body();
  for (let i = 0; i < 8; i++) {
    f.get(dst);
    for (let j = 0; j < 8; j++) {
      f.get(src)
        .memory(OP.i32Load8U, 0, 8 * j + i)
        .i32(3)
        .op(OP.i32Shl)
        .memory(OP.i64Load, 3, STREEBOG_MEMORY.table + 2048 * j);
      if (j > 0) f.op(OP.i64Xor);
    }
    f.memory(OP.i64Store, 3, 8 * i);
  }
  return { params: 2, results: 0, i64Locals: 0, body: f };
}

/** xor(dst, a, b): dst = a ^ b on 512 bits. */
function xorFunction(): WasmFunction {
  const [dst, a, b] = [0, 1, 2];
  const f = new Body();
  for (let w = 0; w < 8; w++) {
    f.get(dst)
      .get(a)
      .memory(OP.i64Load, 3, 8 * w)
      .get(b)
      .memory(OP.i64Load, 3, 8 * w)
      .op(OP.i64Xor)
      .memory(OP.i64Store, 3, 8 * w);
  }
  return { params: 3, results: 0, i64Locals: 0, body: f };
}

/** compress(h, n, m): K = LPS(h ^ n), twelve rounds of E, then h ^= E(K, m) ^ m. */
function compressFunction(): WasmFunction {
  const [h, n, m] = [0, 1, 2];
  const { k, s, t, constants } = STREEBOG_MEMORY;
  const f = new Body();
  const call = (index: number, ...args: (number | { local: number })[]): void => {
    for (const arg of args) {
      if (typeof arg === 'number') f.i32(arg);
      else f.get(arg.local);
    }
    f.call(index);
  };
  call(FN.xor, t, { local: h }, { local: n });
  call(FN.lps, k, t);
  for (let w = 0; w < 8; w++) {
    f.i32(s)
      .get(m)
      .memory(OP.i64Load, 3, 8 * w)
      .memory(OP.i64Store, 3, 8 * w);
  }
  for (let round = 0; round < 12; round++) {
    call(FN.xor, t, s, k);
    call(FN.lps, s, t);
    call(FN.xor, t, k, constants + 64 * round);
    call(FN.lps, k, t);
  }
  for (let w = 0; w < 8; w++) {
    f.get(h)
      .get(h)
      .memory(OP.i64Load, 3, 8 * w)
      .i32(s)
      .memory(OP.i64Load, 3, 8 * w)
      .op(OP.i64Xor)
      .i32(k)
      .memory(OP.i64Load, 3, 8 * w)
      .op(OP.i64Xor)
      .get(m)
      .memory(OP.i64Load, 3, 8 * w)
      .op(OP.i64Xor)
      .memory(OP.i64Store, 3, 8 * w);
  }
  return { params: 3, results: 0, i64Locals: 0, body: f };
}

/** add512(dst, src) with carries through eight 64-bit words. */
function add512Function(): WasmFunction {
  const [dst, src, carry, a, sum, total] = [0, 1, 2, 3, 4, 5];
  const f = new Body();
  f.i64(0n).set(carry);
  for (let w = 0; w < 8; w++) {
    f.get(dst)
      .memory(OP.i64Load, 3, 8 * w)
      .set(a);
    f.get(a)
      .get(src)
      .memory(OP.i64Load, 3, 8 * w)
      .op(OP.i64Add)
      .set(sum);
    f.get(sum).get(carry).op(OP.i64Add).set(total);
    f.get(dst)
      .get(total)
      .memory(OP.i64Store, 3, 8 * w);
    // Carry out when a + src wrapped below a, or adding the carry wrapped below sum.
    f.get(sum)
      .get(a)
      .op(OP.i64LtU)
      .get(total)
      .get(sum)
      .op(OP.i64LtU)
      .op(OP.i32Or)
      .op(OP.i64ExtendI32U)
      .set(carry);
  }
  return { params: 2, results: 0, i64Locals: 4, body: f };
}

/** absorb(m): one full message block through the fixed state. */
function absorbFunction(): WasmFunction {
  const m = 0;
  const { h, n, sigma, blockBits } = STREEBOG_MEMORY;
  const f = new Body();
  f.i32(h).i32(n).get(m).call(FN.compress);
  f.i32(n).i32(blockBits).call(FN.add512);
  f.i32(sigma).get(m).call(FN.add512);
  return { params: 1, results: 0, i64Locals: 0, body: f };
}

/** The module with its tables written: lpsTable as in streebog.ts, constants as 16 u32 each. */
export function streebogEngine(lpsTable: Uint32Array, constants: Uint32Array[]): StreebogEngine {
  const functions = [
    lpsFunction(),
    xorFunction(),
    compressFunction(),
    add512Function(),
    absorbFunction(),
  ];
  const ex = instantiate(
    functions,
    { compress: FN.compress, add512: FN.add512, absorb: FN.absorb },
    1,
  ) as StreebogEngine;
  const words = new Uint32Array(ex.memory.buffer);
  words.set(lpsTable, STREEBOG_MEMORY.table / 4);
  constants.forEach((c, i) => words.set(c, (STREEBOG_MEMORY.constants + 64 * i) / 4));
  words[STREEBOG_MEMORY.blockBits / 4] = 512;
  return ex;
}
