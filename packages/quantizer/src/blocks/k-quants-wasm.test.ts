import fs from 'node:fs';
import { describe, expect, it } from '@jest/globals';
// The build script is plain JavaScript next to the package; it compiles the AssemblyScript source.
import { compileKQuants, moduleSource } from '../../scripts/build-wasm.mjs';

describe('the embedded k-quant WebAssembly module', () => {
  it('is what assembly/k-quants.ts compiles to today (run scripts/build-wasm.mjs after editing it)', () => {
    const committed = fs.readFileSync(new URL('./k-quants-wasm.ts', import.meta.url), 'utf8');
    expect(committed).toBe(moduleSource(compileKQuants()));
  });
});
