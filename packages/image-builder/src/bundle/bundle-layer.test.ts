import { describe, expect, it } from '@jest/globals';
import type { Bundle } from '@alki/bundler';
import { bundleServerArgs, chooseArtifact, imageModelPath } from './bundle-layer.js';

const SHA = 'a'.repeat(64);
const q4 = { quant: 'Q4_K_M', uri: './models/g-q4_k_m.gguf', sha256: SHA, size: 10 };
const f16 = { quant: 'F16', uri: './models/g-f16.gguf', sha256: SHA, size: 20 };
const projector = {
  quant: 'F16',
  uri: './models/mmproj-g-f16.gguf',
  sha256: SHA,
  size: 5,
  role: 'mmproj' as const,
};

// A format 2 bundle as pack writes it for a vision-language model: two
// quants of the model, one projector, runtime.json serving Q4_K_M with it.
const vision = {
  dir: '/bundles/g',
  manifest: { slug: 'g', artifacts: [q4, f16, projector] },
  runtime: {
    schema_version: 2,
    runtime: 'llama.cpp',
    model: q4.uri,
    mmproj: projector.uri,
    server: { host: '0.0.0.0', port: 8080, api: true },
    args: { ctx: 512, threads: 'auto', ngl: 0, parallel: 1 },
    health: { path: '/health', timeout_s: 5 },
  },
} as unknown as Bundle;

describe('a vision bundle in an image', () => {
  it('serves any of its models with the projector after --model', () => {
    const args = bundleServerArgs(vision, chooseArtifact(vision, 'f16'), imageModelPath);
    expect(args.slice(0, 4)).toEqual([
      '--model',
      '/opt/alki/bundle/models/g-f16.gguf',
      '--mmproj',
      '/opt/alki/bundle/models/mmproj-g-f16.gguf',
    ]);
  });

  it('chooses among the models only: a quant label the projector shares picks the model', () => {
    expect(chooseArtifact(vision, 'F16')).toBe(f16);
    const textless = { ...vision, manifest: { slug: 'g', artifacts: [q4, projector] } } as unknown as Bundle;
    expect(() => chooseArtifact(textless, 'F16')).toThrow('The bundle has no F16 model.');
  });

  it('passes no --mmproj for a text-only bundle', () => {
    const runtime = { ...vision.runtime };
    delete runtime.mmproj;
    const text = { ...vision, runtime };
    expect(bundleServerArgs(text, q4, imageModelPath)).not.toContain('--mmproj');
  });
});
