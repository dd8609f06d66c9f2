import { describe, expect, it } from '@jest/globals';
import { parseBaseSpec } from './resolve-base.js';

describe('parseBaseSpec', () => {
  it('reads oci:DIR:TAG as a layout and its tag', () => {
    expect(parseBaseSpec('oci:/srv/bases/llama:server', [])).toEqual({
      kind: 'layout',
      dir: '/srv/bases/llama',
      tag: 'server',
    });
  });

  it('reads oci:DIR without a tag as the layout only image', () => {
    expect(parseBaseSpec('oci:./base', [])).toEqual({ kind: 'layout', dir: './base' });
  });

  it('prefers a tag of the local store over a registry', () => {
    expect(parseBaseSpec('alki/llama-server:v0.4.0', ['alki/llama-server:v0.4.0'])).toEqual({
      kind: 'store',
      tag: 'alki/llama-server:v0.4.0',
    });
  });

  it('treats anything else as a registry reference', () => {
    expect(parseBaseSpec('ghcr.io/ggml-org/llama.cpp:server', ['alki/llama-server:v0.4.0'])).toEqual({
      kind: 'registry',
      reference: 'ghcr.io/ggml-org/llama.cpp:server',
    });
  });
});
