import fs from 'node:fs';
import { describe, expect, it } from '@jest/globals';
// The build script is plain JavaScript next to the package; it compiles the AssemblyScript source.
import { compileKernels, moduleSource } from '../../scripts/build-wasm.mjs';

describe('the embedded WebAssembly kernels', () => {
  it('are what assembly/index.ts compiles to today (run scripts/build-wasm.mjs after editing it)', () => {
    const committed = fs.readFileSync(new URL('./kernels-wasm.ts', import.meta.url), 'utf8');
    expect(committed).toBe(moduleSource(compileKernels()));
  });
});
