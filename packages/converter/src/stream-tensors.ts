import fs from 'node:fs/promises';
import type { GgufWriter } from '@alki/gguf-reader';
import type { SourceTensor } from './input/checkpoint.js';
import type { PlannedTensor } from './plan.js';
import { SAFETENSORS_DTYPE_SIZES } from './safetensors/dtypes.js';
import { openForReading, readExactly } from './safetensors/reader.js';
import { decodeToFloat32, encodedByteLength, encodeFromFloat32, ggmlTypeOfDtype } from './tensor/encode.js';
import { permuteHeadRows } from './tensor/row-transforms.js';

/** Progress of a conversion, reported after each chunk of tensor data. */
export interface ConvertProgress {
  tensor: string;
  tensorIndex: number;
  tensorCount: number;
  /** Bytes of checkpoint tensor data read so far, and in all. */
  bytesDone: number;
  bytesTotal: number;
}

/**
 * Bytes read at a time. Half a MiB keeps each chunk in the CPU cache
 * between the read that fills it and the write that drains it: measured
 * here, 16 MiB chunks made an F16 pass-through two to three times slower
 * than 0.5 to 1 MiB ones, as every byte then crossed main memory twice more.
 */
export const DEFAULT_CHUNK_BYTES = 1 << 19;
/** Reads in flight ahead of the chunk being written, across tensor boundaries (8 MiB). */
const READ_AHEAD = 16;

export interface StreamOptions {
  chunkBytes?: number;
  onProgress?: (progress: ConvertProgress) => void;
  /** Called before each chunk; throws to stop (the caller's abort check). */
  checkAborted: () => void;
}

/** Rows [row, row + count) of one source of one planned tensor. */
interface Chunk {
  tensorIndex: number;
  tensor: PlannedTensor;
  source: SourceTensor;
  row: number;
  count: number;
  rowBytes: number;
  /** Rows per head for the Q/K permutation, 1 otherwise. */
  group: number;
}

type Item = { chunk: Chunk } | { computed: Float32Array; tensorIndex: number; tensor: PlannedTensor };

/** Every read the plan needs, in output order; a chunk never splits a head's rows. */
function* items(plan: PlannedTensor[], chunkBytes: number): Generator<Item> {
  for (const [tensorIndex, tensor] of plan.entries()) {
    if (tensor.computed) {
      yield { computed: tensor.computed, tensorIndex, tensor };
      continue;
    }
    for (const source of tensor.sources) {
      const rowLength = tensor.dims[0];
      const rowBytes = rowLength * SAFETENSORS_DTYPE_SIZES[source.dtype];
      const rows = source.byteLength / rowBytes;
      const group = tensor.transform?.kind === 'permute-heads' ? rows / tensor.transform.heads : 1;
      const chunkRows = Math.max(group, Math.floor(chunkBytes / rowBytes / group) * group);
      for (let row = 0; row < rows; row += chunkRows)
        yield {
          chunk: {
            tensorIndex,
            tensor,
            source,
            row,
            count: Math.min(chunkRows, rows - row),
            rowBytes,
            group,
          },
        };
    }
  }
}

/**
 * Streams the plan's tensor data into the writer: reads run up to
 * READ_AHEAD chunks ahead of the write, through a small pool of reused
 * buffers, so the disk reads while the previous chunks are converted and
 * written; pass-through chunks (same dtype, no value change) go to the
 * writer without a copy.
 */
export async function streamTensors(
  writer: GgufWriter,
  plan: PlannedTensor[],
  options: StreamOptions,
): Promise<void> {
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const bytesTotal = plan.reduce((sum, t) => sum + t.sources.reduce((n, s) => n + s.byteLength, 0), 0);
  let bytesDone = 0;
  const handles = new Map<string, Promise<fs.FileHandle>>();
  const free: Uint8Array[] = [];
  let values = new Float32Array(0);
  let encoded = new Uint8Array(0);
  const pending: Array<Promise<{ item: Item; bytes?: Uint8Array; buffer?: Uint8Array }>> = [];
  const source = items(plan, chunkBytes);

  const open = (file: string) => {
    let handle = handles.get(file);
    if (!handle) {
      handle = openForReading(file);
      // A failure is reported when the read that needs it is awaited.
      handle.catch(() => undefined);
      handles.set(file, handle);
    }
    return handle;
  };
  const issue = (): boolean => {
    const next = source.next();
    if (next.done) return false;
    const item = next.value;
    if (!('chunk' in item)) {
      pending.push(Promise.resolve({ item }));
      return true;
    }
    const { chunk } = item;
    const length = chunk.count * chunk.rowBytes;
    let pooled = free.pop();
    if (!pooled || pooled.byteLength < length) pooled = new Uint8Array(Math.max(length, chunkBytes));
    const buffer = pooled;
    const target = buffer.subarray(0, length);
    const read = open(chunk.source.file)
      .then((handle) =>
        readExactly(
          handle,
          chunk.source.offset + chunk.row * chunk.rowBytes,
          length,
          chunk.source.file,
          target,
        ),
      )
      .then((bytes) => ({ item, bytes, buffer }));
    read.catch(() => undefined);
    pending.push(read);
    return true;
  };

  try {
    while (pending.length < READ_AHEAD && issue());
    while (pending.length) {
      options.checkAborted();
      const { item, bytes, buffer } = await pending.shift()!;
      if (!('chunk' in item)) {
        const data = item.computed;
        await writer.writeTensorData(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      } else {
        const { chunk } = item;
        const { tensor } = chunk;
        if (tensor.transform?.kind === 'permute-heads')
          permuteHeadRows(bytes!, chunk.count, chunk.rowBytes, chunk.group);
        if (ggmlTypeOfDtype(chunk.source.dtype) === tensor.type && tensor.transform?.kind !== 'add') {
          await writer.writeTensorData(bytes!);
        } else {
          const count = chunk.count * tensor.dims[0];
          if (values.length < count) values = new Float32Array(count);
          const view = values.subarray(0, count);
          decodeToFloat32(bytes!, chunk.source.dtype, view);
          if (tensor.transform?.kind === 'add')
            for (let i = 0; i < view.length; i++) view[i] += tensor.transform.value;
          const length = encodedByteLength(tensor.type, count);
          if (encoded.byteLength < length) encoded = new Uint8Array(length);
          encodeFromFloat32(view, tensor.type, encoded.subarray(0, length));
          await writer.writeTensorData(encoded.subarray(0, length));
        }
        free.push(buffer!);
        bytesDone += bytes!.byteLength;
        options.onProgress?.({
          tensor: tensor.name,
          tensorIndex: chunk.tensorIndex,
          tensorCount: plan.length,
          bytesDone,
          bytesTotal,
        });
      }
      issue();
    }
  } finally {
    // Reads still in flight must end before their files close.
    await Promise.allSettled(pending);
    for (const handle of handles.values()) await handle.then((h) => h.close()).catch(() => undefined);
  }
}
