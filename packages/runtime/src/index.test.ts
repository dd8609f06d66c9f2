import { describe, expect, it } from '@jest/globals';
import { importRefusing } from '@alki/testkit';

describe('loading @alki/runtime', () => {
  // alki serve with the llama-server engine, pack and the update agent import the runtime; node-llama-cpp's
  // index costs about 0.3 s and 25 MB, so only the built-in engine and validate's worker load it, when they run.
  it('does not load node-llama-cpp', () => {
    const run = importRefusing(new URL('./index.ts', import.meta.url), 'node-llama-cpp');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  }, 60_000);

  it('would notice a static import of node-llama-cpp (validate’s worker has one)', () => {
    const run = importRefusing(new URL('./validate/worker.ts', import.meta.url), 'node-llama-cpp');
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/node-llama-cpp imported by .*worker\.ts/);
  }, 60_000);
});
