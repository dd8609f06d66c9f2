import path from 'node:path';
import { GgufError } from './errors.js';
import { unfinishedFileSet } from './file-set.js';
import { getMetadata } from './metadata.js';
import { isUrl, openGguf, type OpenGgufOptions } from './open-gguf.js';
import type { GgufFile, GgufMetadataEntry, GgufTensorInfo } from './types.js';
import { valueText } from './value-types.js';

/** One file of a (possibly split) model. */
export interface GgufShard {
  /** The path or URL it was read from. */
  location: string;
  file: GgufFile;
}

/** A tensor of a model, with the shard that holds its data. */
export interface GgufModelTensor extends GgufTensorInfo {
  shard: number;
}

/** A model read as one, whether it is one file or split into shards. */
export interface GgufModel {
  shards: GgufShard[];
  /** The first shard's metadata, which llama.cpp treats as the model's. */
  metadata: GgufMetadataEntry[];
  /** Every tensor of every shard, in shard order. */
  tensors: GgufModelTensor[];
  /** Bytes on disk of all shards together. */
  fileSize: number;
}

// llama.cpp's split naming (llama_split_path in src/llama.cpp): PREFIX-00001-of-00003.gguf.
const SPLIT_NAME = /^(.*)-(\d{5})-of-(\d{5})\.gguf$/;

/**
 * The locations of every shard when `location` names one shard of a split model, else undefined.
 *
 * @example
 * splitShardLocations('m-00002-of-00002.gguf'); // ['m-00001-of-00002.gguf', 'm-00002-of-00002.gguf']
 */
export function splitShardLocations(location: string): string[] | undefined {
  const match = SPLIT_NAME.exec(location);
  if (!match) return undefined;
  const count = Number(match[3]);
  if (count < 1) return undefined;
  return Array.from(
    { length: count },
    (_, i) => `${match[1]}-${String(i + 1).padStart(5, '0')}-of-${match[3]}.gguf`,
  );
}

/**
 * Reads a model's headers as one: a single GGUF, or every shard of a split
 * model (`-00001-of-00003.gguf` and its `split.*` keys), given any shard.
 * Checks that the shards belong together.
 *
 * @example
 * const model = await openGgufModel('models/big-00001-of-00003.gguf');
 * console.log(model.shards.length, model.tensors.length);
 */
export async function openGgufModel(location: string, options: OpenGgufOptions = {}): Promise<GgufModel> {
  const locations = splitShardLocations(location) ?? [location];
  if (locations.length > 1 && !isUrl(location)) await refuseUnfinishedSet(locations);
  const shards: GgufShard[] = [];
  for (const shardLocation of locations) {
    options.signal?.throwIfAborted();
    shards.push({ location: shardLocation, file: await openGguf(shardLocation, options) });
  }
  if (locations.length > 1) checkShards(shards);
  const tensors = shards.flatMap(({ file }, shard) => file.tensors.map((tensor) => ({ ...tensor, shard })));
  const names = new Set<string>();
  for (const tensor of tensors) {
    if (names.has(tensor.name))
      throw mismatch(`The tensor "${tensor.name}" is in more than one shard.`, shards[tensor.shard].location);
    names.add(tensor.name);
  }
  return {
    shards,
    metadata: shards[0].file.metadata,
    tensors,
    fileSize: shards.reduce((sum, { file }) => sum + (file.fileSize ?? 0), 0),
  };
}

// gguf-split writes split.no (uint16, 0-based), split.count (uint16) and
// split.tensors.count (int32) into every shard (tools/gguf-split/gguf-split.cpp).
function checkShards(shards: GgufShard[]): void {
  const total = getMetadata(shards[0].file, 'split.tensors.count');
  for (const [index, { location, file }] of shards.entries()) {
    const number = getMetadata(file, 'split.no');
    const count = getMetadata(file, 'split.count');
    if (number !== index || count !== shards.length) {
      throw mismatch(
        `${location} says it is shard ${valueText(number)} of ${valueText(count)}, but its name says shard ${index} of ${shards.length}.`,
        location,
      );
    }
  }
  const found = shards.reduce((sum, { file }) => sum + file.tensors.length, 0);
  if (typeof total === 'number' && total !== found) {
    throw mismatch(
      `The shards hold ${found} tensors, but split.tensors.count says ${total}.`,
      shards[0].location,
    );
  }
}

// Shards written as one set (commitFileSet) whose renames a kill cut short
// may be missing, or pass every check of checkShards with old shards beside
// new ones (an interrupted `quantize --keep-split --force`): the journal says so.
async function refuseUnfinishedSet(locations: string[]): Promise<void> {
  const dir = path.dirname(path.resolve(locations[0]));
  const journal = await unfinishedFileSet(
    dir,
    locations.map((location) => path.basename(location)),
  );
  if (journal === undefined) return;
  throw new GgufError(
    'SPLIT_MISMATCH',
    `The shards of ${locations[0]} are being replaced, or their replacement was interrupted: ${journal} lists shards not yet renamed into place, so old and new shards may be mixed.`,
    {
      details: { location: locations[0], journal },
      hint: 'Wait for the write to finish, or run the interrupted alki quantize again: it completes the set first.',
    },
  );
}

function mismatch(message: string, location: string): GgufError {
  return new GgufError('SPLIT_MISMATCH', message, {
    details: { location },
    hint: 'Make sure every shard of the split model is present and from the same download.',
  });
}
