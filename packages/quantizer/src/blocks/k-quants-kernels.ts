// The k-quant quantizers run as WebAssembly (assembly/k-quants.ts): its f32
// instructions are the IEEE single-precision arithmetic ggml's C performs, so
// the kernels are bit-exact without emulating float32 with Math.fround, and
// several times faster than the same loops in JS.
import { K_QUANTS_WASM_BASE64 } from './k-quants-wasm.js';

/** Where the caller's rows start in the module's memory (its scratch lives below). */
const DATA_OFFSET = 65536;
const PAGE = 65536;

// The slice of the WebAssembly API used here: @types/node 20 does not declare the global.
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const { WebAssembly: wasm } = globalThis as unknown as { WebAssembly: WasmApi };

interface KQuantExports {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  quantizeQ4K(x: number, y: number, blocks: number): void;
  quantizeQ5K(x: number, y: number, blocks: number): void;
  quantizeQ6K(x: number, y: number, blocks: number): void;
}

let kernels: KQuantExports | undefined;

// Instantiated on first use, synchronously: the module is a few KiB.
function instance(): KQuantExports {
  kernels ??= new wasm.Instance(new wasm.Module(Buffer.from(K_QUANTS_WASM_BASE64, 'base64')), {})
    .exports as KQuantExports;
  return kernels;
}

/** Runs one kernel over `src` (a multiple of 256 weights) into `dst`. */
export function runKQuantKernel(
  kernel: 'quantizeQ4K' | 'quantizeQ5K' | 'quantizeQ6K',
  src: Float32Array,
  dst: Uint8Array,
): void {
  const k = instance();
  const inputBytes = src.length * 4;
  const needed = DATA_OFFSET + inputBytes + dst.length;
  if (k.memory.buffer.byteLength < needed)
    k.memory.grow(Math.ceil((needed - k.memory.buffer.byteLength) / PAGE));
  new Float32Array(k.memory.buffer, DATA_OFFSET, src.length).set(src);
  k[kernel](DATA_OFFSET, DATA_OFFSET + inputBytes, src.length / 256);
  dst.set(new Uint8Array(k.memory.buffer, DATA_OFFSET + inputBytes, dst.length));
}
