import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { failingFileSystem } from './__fixtures__/failing-file-system.js';
import {
  commitFileSet,
  createGgufWriter,
  getMetadata,
  ggufEntry,
  GgmlType,
  openGgufModel,
  rollForwardFileSets,
  splitShardLocations,
  type GgufMetadataEntry,
} from './index.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-split-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

// Shards as gguf-split writes them: split.no (0-based), split.count and
// split.tensors.count in every shard; full metadata in the first.
async function writeShard(
  file: string,
  no: number,
  count: number,
  totalTensors: number,
  names: string[],
  extra: GgufMetadataEntry[] = [],
) {
  const metadata = [
    ...(no === 0 ? [ggufEntry.string('general.architecture', 'llama')] : []),
    ggufEntry.uint16('split.no', no),
    ggufEntry.uint16('split.count', count),
    ggufEntry.int32('split.tensors.count', totalTensors),
    ...extra,
  ];
  const writer = await createGgufWriter(file, {
    metadata,
    tensors: names.map((name) => ({ name, type: GgmlType.F32, dims: [8] })),
  });
  await writer.writeTensorData(new Uint8Array(32 * names.length));
  await writer.finish();
}

describe('openGgufModel', () => {
  it('reads every shard of a split model as one, given any shard', async () => {
    const prefix = path.join(dir, 'model');
    await writeShard(`${prefix}-00001-of-00003.gguf`, 0, 3, 4, ['a', 'b']);
    await writeShard(`${prefix}-00002-of-00003.gguf`, 1, 3, 4, ['c']);
    await writeShard(`${prefix}-00003-of-00003.gguf`, 2, 3, 4, ['d']);
    const model = await openGgufModel(`${prefix}-00002-of-00003.gguf`);
    expect(model.shards.map((s) => path.basename(s.location))).toEqual([
      'model-00001-of-00003.gguf',
      'model-00002-of-00003.gguf',
      'model-00003-of-00003.gguf',
    ]);
    expect(model.tensors.map((t) => [t.name, t.shard])).toEqual([
      ['a', 0],
      ['b', 0],
      ['c', 1],
      ['d', 2],
    ]);
    expect(model.metadata).toBe(model.shards[0].file.metadata);
    const sizes = model.shards.map((s) => fs.statSync(s.location).size);
    expect(model.fileSize).toBe(sizes.reduce((a, b) => a + b, 0));
  });

  it('reads a single file as a one-shard model', async () => {
    const file = path.join(dir, 'single.gguf');
    await writeShard(file, 0, 1, 1, ['x']);
    const model = await openGgufModel(file);
    expect(model.shards).toHaveLength(1);
    expect(model.tensors.map((t) => t.shard)).toEqual([0]);
  });

  it('fails clearly when a shard is missing', async () => {
    const prefix = path.join(dir, 'gap');
    await writeShard(`${prefix}-00001-of-00002.gguf`, 0, 2, 2, ['a']);
    await expect(openGgufModel(`${prefix}-00001-of-00002.gguf`)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('rejects shards that do not belong together', async () => {
    const prefix = path.join(dir, 'mixed');
    await writeShard(`${prefix}-00001-of-00002.gguf`, 0, 2, 3, ['a']);
    await writeShard(`${prefix}-00002-of-00002.gguf`, 1, 2, 3, ['b']);
    await expect(openGgufModel(`${prefix}-00001-of-00002.gguf`)).rejects.toMatchObject({
      code: 'SPLIT_MISMATCH',
    });
    const swapped = path.join(dir, 'swap');
    await writeShard(`${swapped}-00001-of-00002.gguf`, 1, 2, 2, ['a']);
    await writeShard(`${swapped}-00002-of-00002.gguf`, 0, 2, 2, ['b']);
    await expect(openGgufModel(`${swapped}-00002-of-00002.gguf`)).rejects.toMatchObject({
      code: 'SPLIT_MISMATCH',
    });
    const dup = path.join(dir, 'dup');
    await writeShard(`${dup}-00001-of-00002.gguf`, 0, 2, 2, ['a']);
    await writeShard(`${dup}-00002-of-00002.gguf`, 1, 2, 2, ['a']);
    await expect(openGgufModel(`${dup}-00001-of-00002.gguf`)).rejects.toMatchObject({
      code: 'SPLIT_MISMATCH',
    });
  });

  it('refuses a set whose replacement was cut short between two renames, until it is rolled forward', async () => {
    const setDir = fs.mkdtempSync(path.join(dir, 'replaced-'));
    const shards = [1, 2].map((n) => path.join(setDir, `m-0000${n}-of-00002.gguf`));
    const shardNames = [['a'], ['b']];
    const write = async (name: string) => {
      const temps: string[] = [];
      for (const [no, file] of shards.entries()) {
        const writer = await createGgufWriter(file, {
          metadata: [
            ggufEntry.string('general.architecture', 'llama'),
            ggufEntry.string('general.name', name),
            ggufEntry.uint16('split.no', no),
            ggufEntry.uint16('split.count', 2),
            ggufEntry.int32('split.tensors.count', 2),
          ],
          tensors: shardNames[no].map((tensor) => ({ name: tensor, type: GgmlType.F32, dims: [8] })),
        });
        await writer.writeTensorData(new Uint8Array(32));
        temps.push(await writer.prepare());
      }
      return temps.map((from, i) => ({ from, to: shards[i] }));
    };
    await commitFileSet(await write('old'));
    // The second shard's rename fails: shard 1 is new, shard 2 old.
    await expect(
      commitFileSet(await write('new'), { fileSystem: failingFileSystem({ renameAt: 2 }) }),
    ).rejects.toMatchObject({
      code: 'WRITE_FAILED',
    });
    await expect(openGgufModel(shards[0])).rejects.toMatchObject({
      code: 'SPLIT_MISMATCH',
      details: { location: shards[0], journal: expect.stringContaining('.alki-set-') },
    });
    await rollForwardFileSets(setDir);
    const model = await openGgufModel(shards[1]);
    expect(model.shards.map(({ file }) => getMetadata(file, 'general.name'))).toEqual(['new', 'new']);
  });

  it('names shard locations for paths and URLs', () => {
    expect(splitShardLocations('https://h/x/m-00002-of-00002.gguf')).toEqual([
      'https://h/x/m-00001-of-00002.gguf',
      'https://h/x/m-00002-of-00002.gguf',
    ]);
    expect(splitShardLocations('model.gguf')).toBeUndefined();
  });
});
