// The block quantizers that run as WebAssembly (assembly/*.ts): its f32
// instructions are the IEEE single-precision arithmetic ggml's C performs, so
// the kernels are bit-exact without emulating float32 with Math.fround, and
// several times faster than the same loops in JS.
import { KERNELS_WASM_BASE64 } from './kernels-wasm.js';

/** Where the caller's rows start in the module's memory (its scratch lives below). */
const DATA_OFFSET = 65536;
const PAGE = 65536;

// The slice of the WebAssembly API used here: @types/node 20 does not declare the global.
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const { WebAssembly: wasm } = globalThis as unknown as { WebAssembly: WasmApi };

/** Kernels over whole super-blocks: (x, y, blocks). */
export type BlockKernel = 'quantizeQ2K' | 'quantizeQ3K' | 'quantizeQ4K' | 'quantizeQ5K' | 'quantizeQ6K';

/** Kernels over rows with an importance vector per row: (x, y, rows, perRow, qw); qw = 0 where optional. */
export type RowKernel =
  | 'quantizeQ2KWeighted'
  | 'quantizeQ3KWeighted'
  | 'quantizeQ4KWeighted'
  | 'quantizeQ5KWeighted'
  | 'quantizeQ6KWeighted'
  | 'quantizeQ4_0Weighted'
  | 'quantizeQ4_1Weighted'
  | 'quantizeQ5_0Weighted'
  | 'quantizeQ5_1Weighted'
  | 'quantizeIQ4NL'
  | 'quantizeIQ4XS';

type KernelExports = { memory: { buffer: ArrayBuffer; grow(pages: number): number } } & Record<
  BlockKernel,
  (x: number, y: number, blocks: number) => void
> &
  Record<RowKernel, (x: number, y: number, rows: number, perRow: number, qw: number) => void> &
  Record<'decodeF16' | 'decodeBF16', (src: number, dst: number, count: number) => number> & {
    checkF32(src: number, count: number): number;
  };

let kernels: KernelExports | undefined;

// Instantiated on first use, synchronously: the module is a few KiB.
function instance(): KernelExports {
  kernels ??= new wasm.Instance(new wasm.Module(Buffer.from(KERNELS_WASM_BASE64, 'base64')), {})
    .exports as KernelExports;
  return kernels;
}

function ensureMemory(k: KernelExports, bytes: number): void {
  if (k.memory.buffer.byteLength < bytes)
    k.memory.grow(Math.ceil((bytes - k.memory.buffer.byteLength) / PAGE));
}

/** Where decodeSource's weights already are: the kernels need not copy them in. */
const isStaged = (k: KernelExports, src: Float32Array) =>
  src.buffer === k.memory.buffer && src.byteOffset === DATA_OFFSET;

// Copies src (and the importance vector) into the module's memory, growing it as needed.
function stage(k: KernelExports, src: Float32Array, dstBytes: number, importance?: Float32Array): number {
  const inputBytes = src.length * 4;
  const needed = DATA_OFFSET + inputBytes + dstBytes + (importance ? importance.length * 4 + 4 : 0);
  if (k.memory.buffer.byteLength < needed) {
    // Growing detaches the old buffer, and with it a staged view.
    const copy = isStaged(k, src) ? src.slice() : src;
    ensureMemory(k, needed);
    src = copy;
  }
  if (!isStaged(k, src)) new Float32Array(k.memory.buffer, DATA_OFFSET, src.length).set(src);
  if (!importance) return 0;
  // Aligned to 4 bytes after the output, which is not always a multiple of 4 long.
  const at = (DATA_OFFSET + inputBytes + dstBytes + 3) & ~3;
  new Float32Array(k.memory.buffer, at, importance.length).set(importance);
  return at;
}

/** Runs a super-block kernel over `src` (a multiple of 256 weights) into `dst`. */
export function runBlockKernel(kernel: BlockKernel, src: Float32Array, dst: Uint8Array): void {
  const k = instance();
  stage(k, src, dst.length);
  const output = DATA_OFFSET + src.length * 4;
  k[kernel](DATA_OFFSET, output, src.length / 256);
  dst.set(new Uint8Array(k.memory.buffer, output, dst.length));
}

/**
 * Runs a row kernel over `src` (whole rows of `rowLength` weights) into `dst`,
 * with one importance vector of `rowLength` values for every row, or none.
 */
export function runRowKernel(
  kernel: RowKernel,
  src: Float32Array,
  dst: Uint8Array,
  rowLength: number,
  importance: Float32Array | undefined,
): void {
  const k = instance();
  const qw = stage(k, src, dst.length, importance);
  const output = DATA_OFFSET + src.length * 4;
  k[kernel](DATA_OFFSET, output, src.length / rowLength, rowLength, qw);
  dst.set(new Uint8Array(k.memory.buffer, output, dst.length));
}

/** Source types decodeSource reads. */
export type SourceFloatType = 'F32' | 'F16' | 'BF16';

/**
 * Decodes `count` source weights (F32, F16 or BF16 bytes) into the module's
 * memory, where the kernels read them without a copy, and checks them for NaN
 * and infinity. Returns a view of the weights (valid until the next decode),
 * or the index of the first non-finite weight. Room is kept for the kernels'
 * output and an importance vector of `rowLength` values.
 */
export function decodeSource(
  type: SourceFloatType,
  bytes: Uint8Array,
  count: number,
  rowLength: number,
): { weights: Float32Array } | { nonFinite: number } {
  const k = instance();
  // Input floats, then room for any output (at most two bytes a weight) and the importance, then the raw bytes.
  const raw = (DATA_OFFSET + count * 4 + count * 2 + rowLength * 4 + 64 + 15) & ~15;
  ensureMemory(k, raw + bytes.length);
  const weights = new Float32Array(k.memory.buffer, DATA_OFFSET, count);
  let bad: number;
  if (type === 'F32') {
    new Uint8Array(k.memory.buffer, DATA_OFFSET, count * 4).set(bytes.subarray(0, count * 4));
    bad = k.checkF32(DATA_OFFSET, count);
  } else {
    new Uint8Array(k.memory.buffer, raw, bytes.length).set(bytes);
    bad = type === 'F16' ? k.decodeF16(raw, DATA_OFFSET, count) : k.decodeBF16(raw, DATA_OFFSET, count);
  }
  return bad < 0 ? { weights } : { nonFinite: bad };
}
