// The WebAssembly module's exports: every block quantizer that runs as
// WebAssembly. Compiled by scripts/build-wasm.mjs into src/blocks/kernels-wasm.ts.
export {
  quantizeQ2K,
  quantizeQ2KWeighted,
  quantizeQ3K,
  quantizeQ3KWeighted,
  quantizeQ4K,
  quantizeQ4KWeighted,
  quantizeQ5K,
  quantizeQ5KWeighted,
  quantizeQ6K,
  quantizeQ6KWeighted,
} from './k-quants';
export {
  quantizeQ4_0Weighted,
  quantizeQ4_1Weighted,
  quantizeQ5_0Weighted,
  quantizeQ5_1Weighted,
} from './legacy-quants';
export { quantizeIQ4NL, quantizeIQ4XS } from './iq4';
export { checkF32, decodeBF16, decodeF16 } from './decode';
