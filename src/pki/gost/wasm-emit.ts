// A minimal WebAssembly binary writer: enough instructions to generate the straight-line
// arithmetic of the GOST code (field and point formulas, the Streebog compression).

/** The WebAssembly global, typed locally (the project's TypeScript lib does not declare it). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: unknown };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export const OP = {
  end: 0x0b,
  call: 0x10,
  localGet: 0x20,
  localSet: 0x21,
  i32Const: 0x41,
  i64Const: 0x42,
  i64Load: 0x29,
  i32Load8U: 0x2d,
  i64Load32U: 0x35,
  i64Store: 0x37,
  i64Store32: 0x3e,
  i32Add: 0x6a,
  i32Shl: 0x74,
  i32Or: 0x72,
  i64LtU: 0x54,
  i64Add: 0x7c,
  i64Sub: 0x7d,
  i64Mul: 0x7e,
  i64And: 0x83,
  i64Xor: 0x85,
  i64Shl: 0x86,
  i64ShrS: 0x87,
  i64ShrU: 0x88,
  i64ExtendI32U: 0xad,
} as const;

export function uleb(value: number): number[] {
  const out: number[] = [];
  let v = value;
  do {
    let byte = v & 0x7f;
    v = Math.floor(v / 128);
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

function sleb(value: bigint): number[] {
  const out: number[] = [];
  let v = value;
  for (;;) {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    const signBit = (byte & 0x40) !== 0;
    if ((v === 0n && !signBit) || (v === -1n && signBit)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

/** Instruction stream of one function body. */
export class Body {
  readonly bytes: number[] = [];
  get(local: number): this {
    this.bytes.push(OP.localGet, ...uleb(local));
    return this;
  }
  set(local: number): this {
    this.bytes.push(OP.localSet, ...uleb(local));
    return this;
  }
  i32(value: number): this {
    this.bytes.push(OP.i32Const, ...sleb(BigInt(value)));
    return this;
  }
  i64(value: bigint): this {
    this.bytes.push(OP.i64Const, ...sleb(value));
    return this;
  }
  op(code: number): this {
    this.bytes.push(code);
    return this;
  }
  /** A load or store with its alignment exponent and constant offset. */
  memory(code: number, align: number, offset: number): this {
    this.bytes.push(code, align, ...uleb(offset));
    return this;
  }
  /** Pushes the u32 at address local + offset, zero-extended to i64. */
  load(addressLocal: number, offset: number): this {
    return this.get(addressLocal).memory(OP.i64Load32U, 2, offset);
  }
  call(index: number): this {
    this.bytes.push(OP.call, ...uleb(index));
    return this;
  }
}

/** A generated function: i32 parameters (addresses), then its i64 and i32 locals. */
export interface WasmFunction {
  params: number;
  results: number;
  i64Locals: number;
  i32Locals?: number;
  body: Body;
}

function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

function vector(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function encodeName(name: string): number[] {
  const bytes = [...new TextEncoder().encode(name)];
  return [...uleb(bytes.length), ...bytes];
}

/**
 * Assembles the functions (index = position) with one memory of `pages` 64 KiB pages, exported
 * as `memory`, plus the named functions; returns the instance's exports.
 */
export function instantiate(
  functions: WasmFunction[],
  exported: Record<string, number>,
  pages: number,
): unknown {
  const I32 = 0x7f;
  const I64 = 0x7e;
  const types = functions.map((fn) => [
    0x60,
    ...vector(Array.from({ length: fn.params }, () => [I32])),
    ...vector(Array.from({ length: fn.results }, () => [I32])),
  ]);
  const codes = functions.map((fn) => {
    const locals: number[][] = [];
    if (fn.i64Locals > 0) locals.push([...uleb(fn.i64Locals), I64]);
    if (fn.i32Locals) locals.push([...uleb(fn.i32Locals), I32]);
    const body = [...vector(locals), ...fn.body.bytes, OP.end];
    return [...uleb(body.length), ...body];
  });
  const exportEntries = [
    [...encodeName('memory'), 2, 0],
    ...Object.entries(exported).map(([name, index]) => [...encodeName(name), 0, ...uleb(index)]),
  ];
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vector(types)),
    ...section(3, vector(functions.map((_, i) => uleb(i)))),
    ...section(5, vector([[0x00, ...uleb(pages)]])),
    ...section(7, vector(exportEntries)),
    ...section(10, vector(codes)),
  ];
  return new wasm.Instance(new wasm.Module(Uint8Array.from(bytes))).exports;
}
