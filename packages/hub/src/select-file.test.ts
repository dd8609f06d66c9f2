import { describe, expect, it } from '@jest/globals';
import { classifyRepo, globToRegExp, selectFile, selectGguf, selectProjector } from './select-file.js';

describe('globToRegExp', () => {
  it('reads globs as fnmatch does: * crosses folders, ? is one character, [] a set', () => {
    expect(globToRegExp('*Q8_0.gguf').test('sub/model-Q8_0.gguf')).toBe(true);
    expect(globToRegExp('*Q8_0.gguf').test('model-Q8_0.gguf.part')).toBe(false);
    expect(globToRegExp('model-?.gguf').test('model-1.gguf')).toBe(true);
    expect(globToRegExp('model-?.gguf').test('model-12.gguf')).toBe(false);
    expect(globToRegExp('*Q[48]_*').test('x-Q4_K_M.gguf')).toBe(true);
    expect(globToRegExp('*Q[!48]_*').test('x-Q4_K_M.gguf')).toBe(false);
    expect(globToRegExp('*Q[!48]_*').test('x-Q5_K_M.gguf')).toBe(true);
  });

  it('treats regex characters in names literally, and matches case-sensitively', () => {
    expect(globToRegExp('a+b(1).gguf').test('a+b(1).gguf')).toBe(true);
    expect(globToRegExp('a.gguf').test('aXgguf')).toBe(false);
    expect(globToRegExp('*q8_0.gguf').test('model-Q8_0.gguf')).toBe(false);
    expect(globToRegExp('[abc').test('[abc')).toBe(true);
  });
});

describe('selectFile', () => {
  const files = ['README.md', 'm-Q4_K_M.gguf', 'm-Q8_0.gguf'];

  it('returns the single match', () => {
    expect(selectFile(files, '*Q4_K_M*', 'acme/m')).toBe('m-Q4_K_M.gguf');
  });

  it('lists the candidates when several match', () => {
    expect(() => selectFile(files, 'm-*', 'acme/m')).toThrow(
      '"m-*" matches 2 files in acme/m: m-Q4_K_M.gguf, m-Q8_0.gguf.',
    );
  });

  it('lists the .gguf files, or says there are none, when nothing matches', () => {
    expect(() => selectFile(files, '*f16*', 'acme/m')).toThrow(
      'No file in acme/m matches "*f16*". Its .gguf files are: m-Q4_K_M.gguf, m-Q8_0.gguf.',
    );
    expect(() => selectFile(['config.json'], '*.gguf', 'acme/st')).toThrow(
      expect.objectContaining({
        code: 'NO_MATCH',
        message: 'No file in acme/st matches "*.gguf". It has no .gguf files.',
      }),
    );
  });
});

describe('classifyRepo', () => {
  it('prefers GGUF, then safetensors, then pickle weights', () => {
    expect(classifyRepo(['a.gguf', 'model.safetensors'])).toEqual({
      kind: 'gguf',
      gguf: ['a.gguf'],
      safetensors: ['model.safetensors'],
      pickle: [],
    });
    expect(classifyRepo(['config.json', 'model.safetensors', 'pytorch_model.bin']).kind).toBe('safetensors');
    expect(
      classifyRepo(['config.json', 'pytorch_model-00001-of-00002.bin', 'training_args.bin']).pickle,
    ).toEqual(['pytorch_model-00001-of-00002.bin']);
    expect(classifyRepo(['original/consolidated.00.pth']).kind).toBe('pickle');
    expect(classifyRepo(['README.md']).kind).toBe('unknown');
  });
});

describe('selectGguf', () => {
  const files = [
    'README.md',
    'm-Q4_K_M.gguf',
    'm-Q8_0-00001-of-00003.gguf',
    'm-Q8_0-00002-of-00003.gguf',
    'm-Q8_0-00003-of-00003.gguf',
    'm-f16.gguf',
  ];

  it('counts the shards of a split model as one model, picked by its first shard', () => {
    expect(selectGguf(files, '*Q8_0*', 'acme/m')).toEqual({
      file: 'm-Q8_0-00001-of-00003.gguf',
      shards: ['m-Q8_0-00001-of-00003.gguf', 'm-Q8_0-00002-of-00003.gguf', 'm-Q8_0-00003-of-00003.gguf'],
    });
    // A glob that names a later shard still means the whole model.
    expect(selectGguf(files, '*-00002-of-*', 'acme/m').file).toBe('m-Q8_0-00001-of-00003.gguf');
    expect(selectGguf(files, '*Q4_K_M.gguf', 'acme/m')).toEqual({
      file: 'm-Q4_K_M.gguf',
      shards: ['m-Q4_K_M.gguf'],
    });
  });

  it('lists models, not shards, when the glob matches several or none', () => {
    expect(() => selectGguf(files, undefined, 'acme/m')).toThrow(
      '"*.gguf" matches 3 GGUF models in acme/m: m-Q4_K_M.gguf, m-Q8_0-00001-of-00003.gguf, m-f16.gguf.',
    );
    expect(() => selectGguf(files, '*Q2_K*', 'acme/m')).toThrow(
      'Its .gguf files are: m-Q4_K_M.gguf, m-Q8_0-00001-of-00003.gguf, m-f16.gguf.',
    );
  });

  it('never takes a vision projector for the model', () => {
    expect(selectGguf(['g-Q4_K_M.gguf', 'mmproj-g-f16.gguf'], undefined, 'acme/g').file).toBe(
      'g-Q4_K_M.gguf',
    );
    expect(() => selectGguf(['g-Q4_K_M.gguf', 'mmproj-g-f16.gguf'], '*f16*', 'acme/g')).toThrow(
      'Its .gguf files are: g-Q4_K_M.gguf.',
    );
  });

  it('refuses a split model with a shard missing', () => {
    const partial = files.filter((f) => f !== 'm-Q8_0-00003-of-00003.gguf');
    expect(() => selectGguf(partial, '*Q8_0*', 'acme/m')).toThrow(
      expect.objectContaining({
        code: 'MISSING_SHARDS',
        category: 'input',
        details: expect.objectContaining({ missing: ['m-Q8_0-00003-of-00003.gguf'] }),
      }),
    );
  });
});

describe('selectProjector', () => {
  it('picks, as llama.cpp does for -hf, the projector closest in quant bits to the model', () => {
    const repo = ['g-Q4_K_M.gguf', 'g-Q8_0.gguf', 'mmproj-F16.gguf', 'mmproj-F32.gguf', 'mmproj-Q8_0.gguf'];
    expect(selectProjector(repo, 'g-Q4_K_M.gguf', undefined, 'acme/g')).toBe('mmproj-Q8_0.gguf');
    expect(
      selectProjector(
        repo.filter((f) => f !== 'mmproj-Q8_0.gguf'),
        'g-Q8_0.gguf',
        undefined,
        'a/g',
      ),
    ).toBe('mmproj-F16.gguf');
    expect(
      selectProjector(['g-Q4_K_M.gguf', 'README.md'], 'g-Q4_K_M.gguf', undefined, 'acme/g'),
    ).toBeUndefined();
  });

  it("takes a projector from the model's folder or one above it, the nearest first, never from a sibling folder", () => {
    const repo = ['mmproj-f16.gguf', 'q4/g-Q4_K_M.gguf', 'q4/mmproj-q4-f16.gguf', 'q8/mmproj-q8-Q8_0.gguf'];
    expect(selectProjector(repo, 'q4/g-Q4_K_M.gguf', undefined, 'acme/g')).toBe('q4/mmproj-q4-f16.gguf');
    expect(selectProjector(repo.slice(0, 2), 'q4/g-Q4_K_M.gguf', undefined, 'acme/g')).toBe(
      'mmproj-f16.gguf',
    );
    expect(selectProjector(repo.slice(3), 'q4/g-Q4_K_M.gguf', undefined, 'acme/g')).toBeUndefined();
  });

  it('takes the one projector a glob matches, and lists the projectors when it matches several or none', () => {
    const repo = ['g-Q4_K_M.gguf', 'mmproj-F16.gguf', 'mmproj-F32.gguf'];
    expect(selectProjector(repo, 'g-Q4_K_M.gguf', '*F32*', 'acme/g')).toBe('mmproj-F32.gguf');
    expect(() => selectProjector(repo, 'g-Q4_K_M.gguf', 'mmproj-*', 'acme/g')).toThrow(
      '"mmproj-*" matches 2 vision projectors in acme/g: mmproj-F16.gguf, mmproj-F32.gguf.',
    );
    expect(() => selectProjector(repo, 'g-Q4_K_M.gguf', '*Q8_0*', 'acme/g')).toThrow(
      'No vision projector in acme/g matches "*Q8_0*". Its projectors are: mmproj-F16.gguf, mmproj-F32.gguf.',
    );
  });
});
