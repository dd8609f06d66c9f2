import { describe, expect, it } from '@jest/globals';
import type { BundleManifest, RuntimeManifest } from './types.js';
import { parseManifest, parseRuntime } from './validate.js';

const SHA = 'a'.repeat(64);
const model = { quant: 'Q4_K_M', uri: './models/g-q4_k_m.gguf', sha256: SHA, size: 10 };
const projector = { quant: 'F16', uri: './models/mmproj-g-f16.gguf', sha256: SHA, size: 5, role: 'mmproj' };

function manifest(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schema_version: 2,
    name: 'g',
    slug: 'g',
    version: '2025-01-01.aaaaaaaa',
    artifacts: [model, projector],
    defaults: { ctx: 256, threads: 'auto', ngl: 0, parallel: 4 },
    template: 'gemma',
    license: null,
    architecture: 'gemma3',
    parameter_count: 1,
    context_length: 256,
    source: { kind: 'hub', repo: 'acme/g-GGUF', revision: null, files: [] },
    alki_version: '0.1.0',
    created: '2025-01-01T00:00:00Z',
    files: [],
    ...overrides,
  };
}

function runtime(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schema_version: 2,
    runtime: 'llama.cpp',
    model: model.uri,
    mmproj: projector.uri,
    server: { host: '0.0.0.0', port: 8080, api: true },
    args: { ctx: 256, threads: 'auto', ngl: 0, parallel: 4 },
    health: { path: '/health', timeout_s: 5 },
    ...overrides,
  };
}

describe('bundle format 2', () => {
  it('reads a vision projector as an artifact with role mmproj, and runtime.json naming it', () => {
    expect(parseManifest(manifest()).artifacts[1].role).toBe('mmproj');
    expect(parseRuntime(runtime()).mmproj).toBe(projector.uri);
  });

  it('still reads format 1, which has no roles and no projector', () => {
    const v1 = manifest({ schema_version: 1, artifacts: [model] });
    expect(parseManifest(v1) satisfies BundleManifest).toEqual(v1);
    const rest = runtime({ schema_version: 1 });
    delete rest.mmproj;
    expect(parseRuntime(rest) satisfies RuntimeManifest).toEqual(rest);
  });

  it('refuses the format 2 fields in a document that says it is format 1', () => {
    expect(() => parseManifest(manifest({ schema_version: 1 }))).toThrow(
      'metadata/manifest.json is not a valid version 1 document: /artifacts/1 must NOT have additional properties (role).',
    );
    expect(() => parseRuntime(runtime({ schema_version: 1 }))).toThrow(
      'metadata/runtime.json is not a valid version 1 document: (top level) must NOT have additional properties (mmproj).',
    );
  });

  it('refuses a projector as the default artifact, two projectors, and an unknown role', () => {
    expect(() => parseManifest(manifest({ artifacts: [projector, model] }))).toThrow(
      '/artifacts/0 must be a model, not the vision projector',
    );
    const second = { ...projector, uri: './models/mmproj-g-f32.gguf', quant: 'F32' };
    expect(() => parseManifest(manifest({ artifacts: [model, projector, second] }))).toThrow(
      '/artifacts holds more than one vision projector (role mmproj)',
    );
    expect(() => parseManifest(manifest({ artifacts: [model, { ...projector, role: 'audio' }] }))).toThrow(
      '/artifacts/1/role must be equal to one of the allowed values',
    );
  });

  it('refuses a projector path that leaves the bundle before anything else', () => {
    expect(() => parseRuntime(runtime({ mmproj: '../../etc/passwd.gguf' }))).toThrow(
      expect.objectContaining({ code: 'PATH_ESCAPE' }),
    );
  });

  it('names a format newer than this reader knows, and how to read it', () => {
    expect(() => parseManifest(manifest({ schema_version: 3 }))).toThrow(
      expect.objectContaining({
        code: 'INVALID_MANIFEST',
        message: 'metadata/manifest.json is bundle format 3; this Alki reads formats 1 and 2.',
        hint: 'Update Alki to read it, or repack the bundle with this one.',
      }),
    );
    expect(() => parseRuntime(runtime({ schema_version: 3 }))).toThrow('is bundle format 3');
  });
});
