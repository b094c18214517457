// RC2 block cipher (RFC 2268) with CBC mode: NCA RK key stores encrypt their certificate bags
// with 40-bit RC2, which the default OpenSSL 3 provider in Node no longer offers.
import { PkiError } from './errors.js';

// The permutation of RFC 2268 section 2, derived from the digits of pi.
const PITABLE = Uint8Array.from(
  Buffer.from(
    'd978f9c419ddb5ed28e9fd794aa0d89dc67e37832b76538e624c6488448bfba2' +
      '179a59f587b34f1361456d8d09817d32bd8f40eb86b77b0bf09521225c6b4e82' +
      '54d66593ce60b21c7356c014a78cf1dc1275ca1f3bbee4d1423dd430a33cb626' +
      '6fbf0eda4669075727f21d9bbc944303f811c7f690ef3ee706c3d52fc8661ed7' +
      '08e8eade8052eef784aa72ac354d6a2a961ad2715a1549744b9fd05e0418a4ec' +
      'c2e0416e0f51cbcc2491af50a1f47039997c3a8523b8b47afc02365b25559731' +
      '2d5dfa98e38a92ae05df2910676cbac9d300e6cfe19ea82c6316013f58e289a9' +
      '0d38341bab33ffb0bb480c5fb9b1cd2ec5f3db47e5a59c770aa62068fe7fc1ad',
    'hex',
  ),
);

const ROTATIONS = [1, 2, 3, 5] as const;

/** Expands a key into the 64 16-bit subkeys, limited to `effectiveBits` (RFC 2268 section 2). */
export function rc2ExpandKey(key: Uint8Array, effectiveBits: number): Uint16Array {
  if (key.length < 1 || key.length > 128 || effectiveBits < 1 || effectiveBits > 1024) {
    throw new PkiError('rc2.key', 'RC2 key or effective key length out of range');
  }
  const L = new Uint8Array(128);
  L.set(key);
  const T = key.length;
  const T8 = Math.ceil(effectiveBits / 8);
  const TM = 0xff >> (8 * T8 - effectiveBits);
  for (let i = T; i < 128; i++)
    L[i] = PITABLE[((L[i - 1] as number) + (L[i - T] as number)) & 0xff] as number;
  L[128 - T8] = PITABLE[(L[128 - T8] as number) & TM] as number;
  for (let i = 127 - T8; i >= 0; i--)
    L[i] = PITABLE[(L[i + 1] as number) ^ (L[i + T8] as number)] as number;
  const K = new Uint16Array(64);
  for (let i = 0; i < 64; i++) K[i] = (L[2 * i] as number) | ((L[2 * i + 1] as number) << 8);
  return K;
}

function readWords(block: Uint8Array, offset: number): number[] {
  const r: number[] = [];
  for (let i = 0; i < 4; i++) {
    r.push((block[offset + 2 * i] as number) | ((block[offset + 2 * i + 1] as number) << 8));
  }
  return r;
}

function writeWords(r: number[], out: Uint8Array, offset: number): void {
  for (let i = 0; i < 4; i++) {
    out[offset + 2 * i] = (r[i] as number) & 0xff;
    out[offset + 2 * i + 1] = (r[i] as number) >> 8;
  }
}

const w = (r: number[], i: number) => r[(i + 4) % 4] as number;

export function rc2EncryptBlock(K: Uint16Array, input: Uint8Array, out: Uint8Array, at = 0): void {
  const r = readWords(input, at);
  let j = 0;
  const mix = () => {
    for (let i = 0; i < 4; i++) {
      const sum =
        w(r, i) + (K[j++] as number) + (w(r, i - 1) & w(r, i - 2)) + (~w(r, i - 1) & w(r, i - 3));
      const v = sum & 0xffff;
      const s = ROTATIONS[i] as number;
      r[i] = ((v << s) | (v >> (16 - s))) & 0xffff;
    }
  };
  const mash = () => {
    for (let i = 0; i < 4; i++) r[i] = (w(r, i) + (K[w(r, i - 1) & 63] as number)) & 0xffff;
  };
  for (const [rounds, thenMash] of SCHEDULE) {
    for (let n = 0; n < rounds; n++) mix();
    if (thenMash) mash();
  }
  writeWords(r, out, at);
}

export function rc2DecryptBlock(K: Uint16Array, input: Uint8Array, out: Uint8Array, at = 0): void {
  const r = readWords(input, at);
  let j = 63;
  const rmix = () => {
    for (let i = 3; i >= 0; i--) {
      const s = ROTATIONS[i] as number;
      const v = w(r, i);
      const rotated = ((v >> s) | (v << (16 - s))) & 0xffff;
      const sub = (K[j--] as number) + (w(r, i - 1) & w(r, i - 2)) + (~w(r, i - 1) & w(r, i - 3));
      r[i] = (rotated - sub) & 0xffff;
    }
  };
  const rmash = () => {
    for (let i = 3; i >= 0; i--) r[i] = (w(r, i) - (K[w(r, i - 1) & 63] as number)) & 0xffff;
  };
  for (const [rounds, thenMash] of [...SCHEDULE].reverse()) {
    if (thenMash) rmash();
    for (let n = 0; n < rounds; n++) rmix();
  }
  writeWords(r, out, at);
}

// Five mixing rounds, a mash, six mixing, a mash, five mixing (RFC 2268 section 3).
const SCHEDULE: readonly (readonly [number, boolean])[] = [
  [5, true],
  [6, true],
  [5, false],
];

/** CBC decryption with PKCS#5 padding removed; a wrong key usually shows as bad padding. */
export function rc2CbcDecrypt(
  key: Uint8Array,
  effectiveBits: number,
  iv: Uint8Array,
  ciphertext: Uint8Array,
): Uint8Array {
  if (iv.length !== 8 || ciphertext.length === 0 || ciphertext.length % 8 !== 0) {
    throw new PkiError('rc2.input', 'RC2-CBC input is not a whole number of blocks');
  }
  const K = rc2ExpandKey(key, effectiveBits);
  const out = new Uint8Array(ciphertext.length);
  let previous = iv;
  for (let at = 0; at < ciphertext.length; at += 8) {
    rc2DecryptBlock(K, ciphertext, out, at);
    for (let i = 0; i < 8; i++) out[at + i] = (out[at + i] as number) ^ (previous[i] as number);
    previous = ciphertext.subarray(at, at + 8);
  }
  return removePadding(out);
}

export function rc2CbcEncrypt(
  key: Uint8Array,
  effectiveBits: number,
  iv: Uint8Array,
  plaintext: Uint8Array,
): Uint8Array {
  if (iv.length !== 8) throw new PkiError('rc2.input', 'RC2-CBC needs an 8-byte IV');
  const K = rc2ExpandKey(key, effectiveBits);
  const pad = 8 - (plaintext.length % 8);
  const out = new Uint8Array(plaintext.length + pad);
  out.set(plaintext);
  out.fill(pad, plaintext.length);
  let previous: Uint8Array = iv;
  for (let at = 0; at < out.length; at += 8) {
    for (let i = 0; i < 8; i++) out[at + i] = (out[at + i] as number) ^ (previous[i] as number);
    rc2EncryptBlock(K, out, out, at);
    previous = out.subarray(at, at + 8);
  }
  return out;
}

function removePadding(out: Uint8Array): Uint8Array {
  const pad = out[out.length - 1] as number;
  let bad = pad === 0 || pad > 8 ? 1 : 0;
  for (let i = 1; i <= 8 && bad === 0; i++) {
    if (i <= pad && out[out.length - i] !== pad) bad = 1;
  }
  if (bad) throw new PkiError('rc2.padding', 'RC2-CBC padding is wrong (wrong key?)');
  return out.subarray(0, out.length - pad);
}
