import { ALIGNMENT_KEY, alignmentFromMetadata, alignUp } from './alignment.js';
import { Cursor } from './cursor.js';
import { structuralError } from './errors.js';
import { ggmlTypeInfo, isKnownGgmlType } from './ggml-types.js';
import {
  MAX_ARRAY_ITEMS,
  MAX_ARRAY_NESTING,
  MAX_TENSOR_DIMS,
  MAX_TENSOR_NAME_BYTES,
  MIN_KV_BYTES,
  MIN_TENSOR_INFO_BYTES,
} from './limits.js';
import {
  GgufValueType,
  type ByteSource,
  type GgufArray,
  type GgufFile,
  type GgufMetadataEntry,
  type GgufTensorInfo,
  type GgufValue,
} from './types.js';
import { decodeUtf8 } from './utf8.js';
import { isValueType, minValueBytes, SCALAR_SIZES } from './value-types.js';

/** "GGUF" as a little-endian u32 is 0x46554747; we compare the bytes. */
const MAGIC = [0x47, 0x47, 0x55, 0x46];

export interface ReadGgufOptions {
  /** Checked between sections; an aborted read rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Reads a GGUF header: version, metadata and tensor infos, validated, without
 * reading tensor data. Any structural problem is a GgufError whose
 * `details.offset` is the byte where it was found.
 *
 * @example
 * const source = await fileSource('model.gguf');
 * try {
 *   const file = await readGguf(source);
 *   console.log(getMetadata(file, 'general.architecture'), file.tensors.length);
 * } finally {
 *   await source.close?.();
 * }
 */
export async function readGguf(source: ByteSource, options: ReadGgufOptions = {}): Promise<GgufFile> {
  const cursor = new Cursor(source, source.size);
  const { version, tensorCount, kvCount } = await readHeader(cursor);
  options.signal?.throwIfAborted();
  const { metadata, offsets } = await readMetadata(cursor, kvCount);
  options.signal?.throwIfAborted();
  const alignment = alignmentAt(metadata, offsets);
  const tensors = await readTensorInfos(cursor, tensorCount);
  // gguf.cpp (gguf_init_from_file_impl) pads to the alignment only when
  // there are tensors; an empty model's data section starts right here.
  const dataOffset = tensorCount > 0 ? alignUp(cursor.offset, alignment) : cursor.offset;
  checkTensorLayout(tensors, alignment, dataOffset, source.size);
  return {
    version,
    littleEndian: cursor.littleEndian,
    metadata,
    tensors,
    alignment,
    dataOffset,
    fileSize: source.size,
  };
}

async function readHeader(cursor: Cursor): Promise<{ version: 2 | 3; tensorCount: number; kvCount: number }> {
  await cursor.fill(4, 'the magic number');
  for (let i = 0; i < 4; i++) {
    if (cursor.bytes[i] !== MAGIC[i]) {
      throw structuralError('BAD_MAGIC', 0, 'This is not a GGUF file: it does not start with "GGUF"', {
        magic: [...cursor.bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(''),
      });
    }
  }
  cursor.pos = 4;
  await cursor.fill(4, 'the version');
  // Big-endian files (GGUF v3, for s390x) have the same magic bytes; their
  // version read as little-endian is a huge number whose low half is zero.
  const asLittle = cursor.view.getUint32(4, true);
  const asBig = cursor.view.getUint32(4, false);
  const version = asLittle <= 0xffff ? asLittle : asBig;
  cursor.littleEndian = asLittle <= 0xffff;
  cursor.pos = 8;
  if (version !== 2 && version !== 3) {
    throw structuralError(
      'UNSUPPORTED_VERSION',
      4,
      `GGUF version ${version} is not supported (only 2 and 3)`,
      { version },
    );
  }
  await cursor.fill(16, 'the header counts');
  const tensorCount = cursor.count('The tensor count');
  const kvCount = cursor.count('The metadata count');
  if (kvCount * MIN_KV_BYTES > cursor.remaining) {
    throw structuralError(
      'COUNT_TOO_LARGE',
      16,
      `The metadata count ${kvCount} is larger than the file could hold`,
      { kvCount },
    );
  }
  if (tensorCount * MIN_TENSOR_INFO_BYTES > cursor.remaining) {
    throw structuralError(
      'COUNT_TOO_LARGE',
      8,
      `The tensor count ${tensorCount} is larger than the file could hold`,
      { tensorCount },
    );
  }
  return { version, tensorCount, kvCount };
}

/** The file's alignment; a bad general.alignment is reported at its entry's offset. */
function alignmentAt(metadata: GgufMetadataEntry[], offsets: number[]): number {
  try {
    return alignmentFromMetadata(metadata);
  } catch (error) {
    const at = offsets[metadata.findIndex((e) => e.key === ALIGNMENT_KEY)];
    throw structuralError('BAD_ALIGNMENT', at, (error as Error).message.replace(/\.$/, ''));
  }
}

async function readMetadata(
  cursor: Cursor,
  kvCount: number,
): Promise<{ metadata: GgufMetadataEntry[]; offsets: number[] }> {
  const metadata: GgufMetadataEntry[] = [];
  const offsets: number[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < kvCount; i++) {
    const at = cursor.offset;
    const key = await cursor.string(`metadata key ${i}`);
    // gguf.cpp gguf_init_from_reader: "key %d is empty".
    if (key === '') throw structuralError('EMPTY_KEY', at, `Metadata key ${i} is empty`, { index: i });
    if (seen.has(key))
      throw structuralError('DUPLICATE_KEY', at, `The metadata key "${key}" appears twice`, { key });
    seen.add(key);
    if (cursor.available < 4) await cursor.fill(4, `the type of "${key}"`);
    const typeAt = cursor.offset;
    const type = cursor.u32();
    if (!isValueType(type))
      throw structuralError('UNKNOWN_VALUE_TYPE', typeAt, `"${key}" has unknown value type ${type}`, {
        key,
        type,
      });
    const value = await readValue(cursor, type, key, 0);
    metadata.push({ key, type, value });
    offsets.push(at);
  }
  return { metadata, offsets };
}

async function readValue(
  cursor: Cursor,
  type: GgufValueType,
  key: string,
  depth: number,
): Promise<GgufValue> {
  if (type === GgufValueType.STRING) return cursor.string(`the value of "${key}"`);
  if (type === GgufValueType.ARRAY) return readArray(cursor, key, depth + 1);
  const size = SCALAR_SIZES[type]!;
  if (cursor.available < size) await cursor.fill(size, `the value of "${key}"`);
  return readScalar(cursor, type, key);
}

function readScalar(cursor: Cursor, type: GgufValueType, key: string): number | bigint | boolean {
  const { view, pos, littleEndian } = cursor;
  switch (type) {
    case GgufValueType.UINT8:
      cursor.pos += 1;
      return view.getUint8(pos);
    case GgufValueType.INT8:
      cursor.pos += 1;
      return view.getInt8(pos);
    case GgufValueType.UINT16:
      cursor.pos += 2;
      return view.getUint16(pos, littleEndian);
    case GgufValueType.INT16:
      cursor.pos += 2;
      return view.getInt16(pos, littleEndian);
    case GgufValueType.UINT32:
      cursor.pos += 4;
      return view.getUint32(pos, littleEndian);
    case GgufValueType.INT32:
      cursor.pos += 4;
      return view.getInt32(pos, littleEndian);
    case GgufValueType.FLOAT32:
      cursor.pos += 4;
      return view.getFloat32(pos, littleEndian);
    case GgufValueType.UINT64:
      cursor.pos += 8;
      return view.getBigUint64(pos, littleEndian);
    case GgufValueType.INT64:
      cursor.pos += 8;
      return view.getBigInt64(pos, littleEndian);
    case GgufValueType.FLOAT64:
      cursor.pos += 8;
      return view.getFloat64(pos, littleEndian);
    case GgufValueType.BOOL: {
      const byte = view.getUint8(pos);
      // gguf.cpp stores bools as one byte; anything but 0 or 1 would not
      // survive a round trip, so it is damage.
      if (byte > 1)
        throw structuralError(
          'INVALID_VALUE',
          cursor.offset,
          `"${key}" holds ${byte}, which is not a bool (0 or 1)`,
          { key },
        );
      cursor.pos += 1;
      return byte === 1;
    }
    default:
      throw structuralError('UNKNOWN_VALUE_TYPE', cursor.offset, `"${key}" has unknown value type ${type}`, {
        key,
        type,
      });
  }
}

async function readArray(cursor: Cursor, key: string, depth: number): Promise<GgufArray> {
  const at = cursor.offset;
  if (depth > MAX_ARRAY_NESTING)
    throw structuralError(
      'NESTING_TOO_DEEP',
      at,
      `"${key}" nests arrays more than ${MAX_ARRAY_NESTING} deep`,
      { key },
    );
  if (cursor.available < 12) await cursor.fill(12, `the array header of "${key}"`);
  const itemType = cursor.u32();
  if (!isValueType(itemType))
    throw structuralError('UNKNOWN_VALUE_TYPE', at, `The array "${key}" has unknown item type ${itemType}`, {
      key,
      type: itemType,
    });
  const count = cursor.count(`The item count of "${key}"`);
  if (count > MAX_ARRAY_ITEMS) {
    throw structuralError(
      'COUNT_TOO_LARGE',
      at + 4,
      `The array "${key}" claims ${count} items, over gguf.cpp's limit of ${MAX_ARRAY_ITEMS}`,
      { key, count },
    );
  }
  if (count * minValueBytes(itemType) > cursor.remaining) {
    throw structuralError(
      'COUNT_TOO_LARGE',
      at + 4,
      `The array "${key}" claims ${count} items, more than the rest of the file could hold`,
      { key, count },
    );
  }
  const items: GgufValue[] = [];
  if (itemType === GgufValueType.STRING) await readStringItems(cursor, key, count, items);
  else if (itemType === GgufValueType.ARRAY) {
    for (let i = 0; i < count; i++) items.push(await readArray(cursor, key, depth + 1));
  } else await readScalarItems(cursor, itemType, key, count, items);
  return { itemType, items };
}

// Tokenizer vocabularies are arrays of 100k+ short strings. The inner loop
// works on local copies of the window and decodes every string already in it
// without awaiting or touching the cursor; the outer loop refills the window
// (with all the checks) when the next string is not complete in it.
async function readStringItems(
  cursor: Cursor,
  key: string,
  count: number,
  items: GgufValue[],
): Promise<void> {
  const what = `an item of "${key}"`;
  const lengthWhat = `The length of ${what}`;
  let done = 0;
  while (done < count) {
    const { bytes, view, littleEndian } = cursor;
    const end = bytes.length;
    let pos = cursor.pos;
    while (done < count && end - pos >= 8) {
      const high = view.getUint32(littleEndian ? pos + 4 : pos, littleEndian);
      const length = view.getUint32(littleEndian ? pos : pos + 4, littleEndian);
      if (high !== 0 || end - pos - 8 < length) break;
      const text = decodeUtf8(bytes, pos + 8, pos + 8 + length);
      if (text === undefined) {
        cursor.pos = pos + 8;
        throw structuralError('INVALID_UTF8', cursor.offset - 8, `${what} is not valid UTF-8`);
      }
      items.push(text);
      pos += 8 + length;
      done++;
    }
    cursor.pos = pos;
    if (done === count) break;
    // The next string is not complete in the window: read it the careful way.
    if (cursor.available < 8) await cursor.fill(8, what);
    const at = cursor.offset;
    const length = cursor.count(lengthWhat);
    cursor.checkStringLength(length, at, what);
    if (cursor.available < length) await cursor.fill(length, what);
    items.push(cursor.decode(length, at, what));
    done++;
  }
}

async function readScalarItems(
  cursor: Cursor,
  type: GgufValueType,
  key: string,
  count: number,
  items: GgufValue[],
): Promise<void> {
  const size = SCALAR_SIZES[type]!;
  let done = 0;
  while (done < count) {
    if (cursor.available < size)
      await cursor.fill(Math.min(count - done, 65536) * size, `the items of "${key}"`);
    const batch = Math.min(count - done, Math.floor(cursor.available / size));
    for (let i = 0; i < batch; i++) items.push(readScalar(cursor, type, key));
    done += batch;
  }
}

async function readTensorInfos(cursor: Cursor, tensorCount: number): Promise<GgufTensorInfo[]> {
  const tensors: GgufTensorInfo[] = [];
  const names = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    const at = cursor.offset;
    if (cursor.available < 8) await cursor.fill(8, `the name of tensor ${i}`);
    const nameLength = cursor.count(`The name length of tensor ${i}`);
    if (nameLength > MAX_TENSOR_NAME_BYTES) {
      throw structuralError(
        'NAME_TOO_LONG',
        at,
        `Tensor ${i}'s name is ${nameLength} bytes, over the limit of ${MAX_TENSOR_NAME_BYTES}`,
        { index: i },
      );
    }
    if (cursor.available < nameLength + 4) await cursor.fill(nameLength + 4, `tensor info ${i}`);
    const name = cursor.decode(nameLength, at, `the name of tensor ${i}`);
    // gguf.cpp accepts both, but ggml_set_name copies a name up to its first
    // NUL, so the tensor would load under another name (or none), and no
    // model asks for a tensor by an empty name.
    if (name === '' || name.includes('\0')) {
      throw structuralError(
        'BAD_TENSOR_NAME',
        at,
        name === ''
          ? `Tensor ${i} has an empty name`
          : `Tensor ${i}'s name ${JSON.stringify(name)} holds a NUL byte`,
        { index: i },
      );
    }
    if (names.has(name))
      throw structuralError('DUPLICATE_TENSOR', at, `The tensor name "${name}" appears twice`, { name });
    names.add(name);
    const dimCount = cursor.u32();
    if (dimCount > MAX_TENSOR_DIMS) {
      throw structuralError(
        'BAD_DIMENSIONS',
        at,
        `Tensor "${name}" has ${dimCount} dimensions; ggml allows at most ${MAX_TENSOR_DIMS}`,
        { name },
      );
    }
    const fixed = dimCount * 8 + 4 + 8;
    if (cursor.available < fixed) await cursor.fill(fixed, `the tensor info of "${name}"`);
    const dims: number[] = [];
    let elements = 1;
    for (let d = 0; d < dimCount; d++) {
      const dim = cursor.count(`Dimension ${d} of "${name}"`);
      dims.push(dim);
      elements *= dim;
    }
    // gguf.cpp loads a zero-sized tensor (test-gguf.cpp HANDCRAFTED_TENSORS_ZERO_DIM),
    // but it holds no weights, and every tensor llama_model_loader creates is
    // checked against a shape made of non-zero hyperparameters: in a model
    // file it is damage. docs/gguf-validation.md lists this as stricter.
    const zero = dims.indexOf(0);
    if (zero >= 0) {
      throw structuralError(
        'ZERO_DIMENSION',
        at,
        `Tensor "${name}" has a dimension of 0 (${dims.join('x')})`,
        {
          name,
          dims,
        },
      );
    }
    if (!Number.isSafeInteger(elements)) {
      throw structuralError(
        'BAD_DIMENSIONS',
        at,
        `Tensor "${name}" has ${dims.join('x')} elements, more than any file can hold`,
        { name, dims },
      );
    }
    const typeAt = cursor.offset;
    const type = cursor.u32();
    if (!isKnownGgmlType(type))
      throw structuralError('UNKNOWN_TENSOR_TYPE', typeAt, `Tensor "${name}" has unknown ggml type ${type}`, {
        name,
        type,
      });
    const { blockSize, typeSize, name: typeName } = ggmlTypeInfo(type);
    const rowLength = dimCount ? dims[0] : 1;
    if (rowLength % blockSize !== 0) {
      throw structuralError(
        'BAD_DIMENSIONS',
        at,
        `Tensor "${name}" has rows of ${rowLength}, not a multiple of ${typeName}'s block size ${blockSize}`,
        {
          name,
          dims,
        },
      );
    }
    const offset = cursor.count(`The data offset of "${name}"`);
    tensors.push({ name, dims, type, offset, byteSize: (elements / blockSize) * typeSize });
  }
  return tensors;
}

/**
 * gguf.cpp (gguf_init_from_reader) requires each tensor's data to start
 * exactly where the previous one ends, padded to the alignment, in the order
 * of the tensor infos ("tensor '%s' has offset %d, expected %zu"); that also
 * rules out overlaps. llama_model_loader then refuses data past the end of
 * the file ("data is not within the file bounds").
 */
function checkTensorLayout(
  tensors: GgufTensorInfo[],
  alignment: number,
  dataOffset: number,
  fileSize: number | undefined,
): void {
  if (tensors.length > 0 && fileSize !== undefined && dataOffset > fileSize) {
    throw structuralError('TRUNCATED', fileSize, 'The file ends inside the padding before the tensor data', {
      needed: dataOffset - fileSize,
    });
  }
  let expected = 0;
  let previous: GgufTensorInfo | undefined;
  for (const tensor of tensors) {
    if (tensor.offset % alignment !== 0) {
      throw structuralError(
        'MISALIGNED_TENSOR',
        dataOffset + tensor.offset,
        `Tensor "${tensor.name}" starts at data offset ${tensor.offset}, not a multiple of the alignment ${alignment}`,
        { name: tensor.name },
      );
    }
    if (tensor.offset < expected) {
      throw structuralError(
        'OVERLAPPING_TENSORS',
        dataOffset + tensor.offset,
        `The data of tensor "${tensor.name}" (data offset ${tensor.offset}) overlaps "${previous!.name}", which ends at ${expected}`,
        { names: [previous!.name, tensor.name] },
      );
    }
    if (tensor.offset > expected) {
      throw structuralError(
        'TENSOR_DATA_GAP',
        dataOffset + tensor.offset,
        `Tensor "${tensor.name}" starts at data offset ${tensor.offset}, but llama.cpp expects ${expected}: tensor data must follow the tensor infos' order, each padded to the alignment ${alignment}`,
        { name: tensor.name, expected },
      );
    }
    const end = dataOffset + tensor.offset + tensor.byteSize;
    if (fileSize !== undefined && end > fileSize) {
      throw structuralError(
        'DATA_PAST_END',
        dataOffset + tensor.offset,
        `Tensor "${tensor.name}" ends at byte ${end}, past the end of the file (${fileSize} bytes)`,
        { name: tensor.name, fileSize },
      );
    }
    expected = alignUp(tensor.offset + tensor.byteSize, alignment);
    previous = tensor;
  }
}
