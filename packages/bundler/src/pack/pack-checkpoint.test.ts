import { afterAll, describe, expect, it } from '@jest/globals';
import { generateCheckpoint } from '@alki/testkit';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pack, packDemo, verifyBundle } from '../index.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'alki-pack-checkpoint-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function tree(root: string, relative = ''): string[] {
  return readdirSync(path.join(root, relative), { withFileTypes: true }).flatMap((entry) => {
    const child = relative ? `${relative}/${entry.name}` : entry.name;
    return entry.isDirectory() ? tree(root, child) : [child];
  });
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('pack from a local Hugging Face checkpoint folder', () => {
  it('converts, quantizes into each requested quant, and records the folder as the source', async () => {
    const checkpoint = await generateCheckpoint({ family: 'llama' });
    const result = await pack({
      source: checkpoint,
      out: path.join(work, 'llama'),
      quantize: ['Q8_0', 'Q4_K_M'],
      sourceDateEpoch: 1,
    });
    expect(result.manifest.artifacts.map((a) => [a.quant, a.file_type])).toEqual([
      ['Q8_0', 'MOSTLY_Q8_0'],
      ['Q4_K_M', 'MOSTLY_Q4_K_M'],
    ]);
    expect(result.manifest.architecture).toBe('llama');
    expect(result.manifest.source).toMatchObject({
      kind: 'local-hf',
      repo: path.basename(checkpoint),
      revision: null,
    });
    expect(result.manifest.source.files).toEqual(expect.arrayContaining(['config.json', 'tokenizer.json']));
    expect(result.notes[0]).toMatch(/^Converted LlamaForCausalLM/);
    expect((await verifyBundle(result.dir)).ok).toBe(true);
    // Scratch conversions are gone.
    expect(readdirSync(work).filter((name) => name.startsWith('.'))).toEqual([]);
  });
});

describe('packDemo', () => {
  it('generates, converts and quantizes the demo offline into a byte-identical bundle every time', async () => {
    const first = await packDemo({ out: path.join(work, 'demo-1') });
    const second = await packDemo({ out: path.join(work, 'demo-2') });
    expect(first.manifest).toMatchObject({
      name: 'alki-demo',
      source: { kind: 'demo', repo: 'alki-demo', revision: 'demo-v2' },
      license: 'cc0-1.0',
      template: 'chatml',
      created: '2025-01-01T00:00:00Z',
    });
    expect(first.manifest.artifacts.map((a) => a.quant)).toEqual(['Q4_K_M', 'Q8_0']);
    const files = tree(first.dir).sort();
    expect(tree(second.dir).sort()).toEqual(files);
    for (const file of files)
      expect(sha256(path.join(second.dir, file))).toBe(sha256(path.join(first.dir, file)));
    expect((await verifyBundle(first.dir)).ok).toBe(true);
  }, 120_000);
});
