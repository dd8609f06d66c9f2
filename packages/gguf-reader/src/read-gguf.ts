import { ALIGNMENT_KEY, alignmentFromMetadata, alignUp } from './alignment.js';
import { Cursor } from './cursor.js';
import { structuralError } from './errors.js';
import { ggmlTypeInfo, isKnownGgmlType } from './ggml-types.js';
import {
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

function checkTensorLayout(
  tensors: GgufTensorInfo[],
  alignment: number,
  dataOffset: number,
  fileSize: number | undefined,
): void {
  for (const tensor of tensors) {
    if (tensor.offset % alignment !== 0) {
      throw structuralError(
        'MISALIGNED_TENSOR',
        dataOffset + tensor.offset,
        `Tensor "${tensor.name}" starts at data offset ${tensor.offset}, not a multiple of the alignment ${alignment}`,
        {
          name: tensor.name,
        },
      );
    }
    const end = dataOffset + tensor.offset + tensor.byteSize;
    if (fileSize !== undefined && end > fileSize) {
      throw structuralError(
        'DATA_PAST_END',
        dataOffset + tensor.offset,
        `Tensor "${tensor.name}" ends at byte ${end}, past the end of the file (${fileSize} bytes)`,
        {
          name: tensor.name,
          fileSize,
        },
      );
    }
  }
  const byOffset = [...tensors].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < byOffset.length; i++) {
    const previous = byOffset[i - 1];
    const tensor = byOffset[i];
    if (previous.offset + previous.byteSize > tensor.offset) {
      throw structuralError(
        'OVERLAPPING_TENSORS',
        dataOffset + tensor.offset,
        `The data of tensors "${previous.name}" and "${tensor.name}" overlap`,
        {
          names: [previous.name, tensor.name],
        },
      );
    }
  }
}
