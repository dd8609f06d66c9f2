import { describe, expect, it } from '@jest/globals';
import { assertSafeRelativePath, parseRepoId } from './repo-id.js';

describe('parseRepoId', () => {
  it('accepts hub ids with or without an owner', () => {
    expect(parseRepoId(' Qwen/Qwen2.5-0.5B-Instruct-GGUF ')).toBe('Qwen/Qwen2.5-0.5B-Instruct-GGUF');
    expect(parseRepoId('gpt2')).toBe('gpt2');
  });

  it('rejects ids huggingface_hub rejects, saying why', () => {
    expect(() => parseRepoId('a/b/c')).toThrow('use the form org/name');
    expect(() => parseRepoId('acme/x--y')).toThrow('may not contain "--" or ".."');
    expect(() => parseRepoId('acme/-x')).toThrow('may not start or end');
    expect(() => parseRepoId(`acme/${'x'.repeat(100)}`)).toThrow('longer than 96');
    expect(() => parseRepoId('acme/x"\n')).toThrow(
      expect.objectContaining({ code: 'INVALID_REPO_ID', category: 'input' }),
    );
  });
});

describe('assertSafeRelativePath', () => {
  it('accepts nested relative paths and refuses anything that could leave the cache', () => {
    expect(() => assertSafeRelativePath('a/b/c.gguf', 'file')).not.toThrow();
    expect(() => assertSafeRelativePath('refs/pr/1', 'revision')).not.toThrow();
    for (const bad of ['', '/etc/passwd', '../x', 'a/../../x', 'a\\..\\x', 'C:\\x', 'a//b', './a', 'a\0b']) {
      expect(() => assertSafeRelativePath(bad, 'file')).toThrow(
        expect.objectContaining({ code: 'UNSAFE_PATH' }),
      );
    }
  });
});
