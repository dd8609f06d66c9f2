import { describe, expect, it } from '@jest/globals';
import { withPort } from './test-image.js';

describe('withPort', () => {
  it("rewrites llama-server's --port so several tests can run side by side", () => {
    expect(withPort(['--model', 'm.gguf', '--port', '8080', '--ctx-size', '256'], 41234)).toEqual([
      '--model',
      'm.gguf',
      '--port',
      '41234',
      '--ctx-size',
      '256',
    ]);
  });

  it('adds --port when the command has none', () => {
    expect(withPort(['--model', 'm.gguf'], 9000)).toEqual(['--model', 'm.gguf', '--port', '9000']);
  });
});
