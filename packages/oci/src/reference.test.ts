import { describe, expect, it } from '@jest/globals';
import { formatReference, parseLayoutReference, parseReference, tagOf } from './reference.js';

describe('parseReference', () => {
  it('splits host, repository, tag and digest', () => {
    const digest = `sha256:${'0'.repeat(64)}`;
    expect(parseReference('127.0.0.1:5000/models/qwen3:v1.0.0')).toEqual({
      registry: '127.0.0.1:5000',
      repository: 'models/qwen3',
      tag: 'v1.0.0',
    });
    expect(parseReference(`ghcr.io/acme/m@${digest}`)).toEqual({
      registry: 'ghcr.io',
      repository: 'acme/m',
      digest,
    });
    expect(parseReference('localhost/m:latest')).toEqual({
      registry: 'localhost',
      repository: 'm',
      tag: 'latest',
    });
    expect(parseReference('ubuntu')).toEqual({
      registry: 'registry-1.docker.io',
      repository: 'library/ubuntu',
    });
    expect(formatReference(parseReference(`ghcr.io/acme/m:v1@${digest}`))).toBe(
      `ghcr.io/acme/m:v1@${digest}`,
    );
  });

  it('refuses hostile or malformed names with INVALID_REFERENCE', () => {
    for (const bad of [
      '',
      'ghcr.io/Acme/m',
      'ghcr.io/a/../b',
      'ghcr.io/a/m:-bad',
      'ghcr.io/a/m@sha256:xyz',
      'ghcr.io/a b',
      'ghcr.io//m',
      `ghcr.io/${'a'.repeat(300)}`,
    ]) {
      expect(() => parseReference(bad)).toThrow(
        expect.objectContaining({ code: 'INVALID_REFERENCE', category: 'input' }),
      );
    }
  });
});

describe('parseLayoutReference', () => {
  it('reads oci:DIR, oci:DIR:tag and oci:DIR@digest as skopeo does', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(parseLayoutReference('oci:./out/oci')).toEqual({ dir: './out/oci' });
    expect(parseLayoutReference('oci:/srv/bases/llama:server')).toEqual({
      dir: '/srv/bases/llama',
      reference: 'server',
    });
    expect(parseLayoutReference(`oci:/srv/layout@${digest}`)).toEqual({
      dir: '/srv/layout',
      reference: digest,
    });
    expect(parseLayoutReference('127.0.0.1:5000/models/tiny:v1')).toBeUndefined();
  });

  it('refuses a layout reference without a directory', () => {
    expect(() => parseLayoutReference('oci::v1')).toThrow(
      expect.objectContaining({ code: 'INVALID_REFERENCE' }),
    );
  });
});

describe('tagOf', () => {
  it.each([
    ['acme/tiny:v1', 'v1'],
    ['127.0.0.1:5000/acme/tiny', 'latest'],
    ['127.0.0.1:5000/acme/tiny:2', '2'],
  ])('takes the tag of %s as %s', (reference, tag) => {
    expect(tagOf(reference)).toBe(tag);
  });
});
