import { describe, expect, it } from '@jest/globals';
import { publishRepository } from './repository.js';

describe('publishRepository', () => {
  it('appends the bundle slug to host/namespace and refuses a tag there', () => {
    expect(publishRepository('registry.example.com/ai/', 'qwen3-0-6b')).toBe(
      'registry.example.com/ai/qwen3-0-6b',
    );
    expect(publishRepository('127.0.0.1:5000', 'tiny')).toBe('127.0.0.1:5000/tiny');
    expect(() => publishRepository('registry.example.com/ai:v1', 'tiny')).toThrow(
      expect.objectContaining({ code: 'INVALID_REFERENCE' }),
    );
  });
});
