// Importance matrices in the two file formats llama.cpp uses: the GGUF one
// (tools/imatrix/imatrix.cpp save_imatrix, read by common/imatrix-loader.cpp
// common_imatrix_load) and the legacy .dat one (save_imatrix_legacy,
// common_imatrix_load_legacy). Pure: bytes in, bytes out.
import {
  bufferSource,
  DEFAULT_ALIGNMENT,
  GgmlType,
  ggufEntry,
  GgufError,
  GgufValueType,
  layoutTensors,
  readGguf,
  readTensorData,
  serializeGgufHeader,
  type GgufFile,
  type GgufTensorInfo,
} from '@alki/gguf-reader';
import { QuantizerError } from '../errors.js';

/** One tensor's statistics. */
export interface ImatrixEntry {
  /**
   * GGUF: the sums of squared activations, ne[0] per expert. Legacy: the
   * per-call means times the call count, as save_imatrix_legacy stores them.
   */
  sums: Float32Array;
  /** GGUF: the activation count per expert. Legacy: one value, the call count. */
  counts: Float64Array;
}

export interface Imatrix {
  format: 'gguf' | 'legacy';
  /** By tensor name (the model's weight names: blk.0.attn_q.weight). */
  entries: Map<string, ImatrixEntry>;
  /** The calibration texts it was computed on, as llama-imatrix recorded them. */
  datasets: string[];
  /** Chunks of text it was computed on. */
  chunkCount: number;
  /** Tokens per chunk (GGUF only; 0 for legacy files). */
  chunkSize: number;
}

const SUMS_SUFFIX = '.in_sum2';
const COUNTS_SUFFIX = '.counts';
const GGUF_MAGIC = 'GGUF';
/** Names longer than this are not tensor names: a damaged length field (the GGUF limit is 64 bytes). */
const MAX_LEGACY_NAME_BYTES = 1 << 16;

function damaged(message: string, details: Record<string, unknown> = {}, cause?: unknown): QuantizerError {
  return new QuantizerError('IMATRIX_INVALID', message, {
    hint: 'Compute the importance matrix again (alki imatrix or llama-imatrix).',
    details,
    cause,
  });
}

/** True when the bytes start like a GGUF file; otherwise llama.cpp reads them as a legacy .dat imatrix. */
export function isGgufImatrix(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && Buffer.from(bytes.subarray(0, 4)).toString('latin1') === GGUF_MAGIC;
}

/**
 * Parses an importance matrix file, GGUF or legacy .dat, checking every
 * length against the bytes there are: a damaged file fails with
 * IMATRIX_INVALID, never with a crash or a huge allocation.
 *
 * @example
 * const imatrix = await parseImatrix(fs.readFileSync('model.imatrix'));
 * console.log(imatrix.format, imatrix.entries.size, imatrix.chunkCount);
 */
export async function parseImatrix(bytes: Uint8Array): Promise<Imatrix> {
  return isGgufImatrix(bytes) ? parseGgufImatrix(bytes) : parseLegacyImatrix(bytes);
}

async function parseGgufImatrix(bytes: Uint8Array): Promise<Imatrix> {
  const source = bufferSource(bytes);
  let file: GgufFile;
  try {
    file = await readGguf(source);
  } catch (error) {
    if (error instanceof GgufError) throw damaged(`The imatrix GGUF is damaged: ${error.message}`, {}, error);
    throw error;
  }
  if (file.tensors.length < 1) throw damaged('The imatrix GGUF has no tensors.');
  const get = (key: string) => file.metadata.find((e) => e.key === key);
  const datasetsEntry = get('imatrix.datasets');
  const chunkCount = get('imatrix.chunk_count');
  const chunkSize = get('imatrix.chunk_size');
  // llama-quantize refuses a GGUF imatrix without these three keys (load_imatrix: "missing imatrix metadata").
  if (!datasetsEntry || !chunkCount || !chunkSize)
    throw damaged('The imatrix GGUF lacks imatrix.datasets, imatrix.chunk_count or imatrix.chunk_size.');
  const datasets: string[] = [];
  const value = datasetsEntry.value as { itemType?: GgufValueType; items?: unknown[] };
  if (datasetsEntry.type === GgufValueType.ARRAY && value.itemType === GgufValueType.STRING)
    datasets.push(...(value.items as string[]));

  const pairs = new Map<string, { sums?: GgufTensorInfo; counts?: GgufTensorInfo }>();
  for (const tensor of file.tensors) {
    const suffix = tensor.name.endsWith(SUMS_SUFFIX)
      ? SUMS_SUFFIX
      : tensor.name.endsWith(COUNTS_SUFFIX)
        ? COUNTS_SUFFIX
        : undefined;
    if (!suffix) continue;
    const name = tensor.name.slice(0, -suffix.length);
    if (name === '') continue;
    const pair = pairs.get(name) ?? {};
    if (suffix === SUMS_SUFFIX) pair.sums = tensor;
    else pair.counts = tensor;
    pairs.set(name, pair);
  }
  const entries = new Map<string, ImatrixEntry>();
  for (const name of [...pairs.keys()].sort(compareBytes)) {
    const { sums, counts } = pairs.get(name)!;
    if (!sums || !counts)
      throw damaged(`The imatrix has sums without counts (or counts without sums) for "${name}".`, {
        tensor: name,
      });
    if (sums.type !== GgmlType.F32 || counts.type !== GgmlType.F32)
      throw damaged(`The imatrix sums and counts for "${name}" must be F32.`, { tensor: name });
    const sumValues = await f32Data(source, file, sums);
    const countValues = await f32Data(source, file, counts);
    if (countValues.length === 0 || sumValues.length % countValues.length !== 0)
      throw damaged(
        `The imatrix has ${sumValues.length} sums for ${countValues.length} counts for "${name}".`,
        {
          tensor: name,
        },
      );
    // common_imatrix_load rounds the stored counts (std::lround).
    entries.set(name, { sums: sumValues, counts: Float64Array.from(countValues, roundHalfAway) });
  }
  return {
    format: 'gguf',
    entries,
    datasets,
    chunkCount: Number(chunkCount.value),
    chunkSize: Number(chunkSize.value),
  };
}

async function f32Data(
  source: ReturnType<typeof bufferSource>,
  file: GgufFile,
  tensor: GgufTensorInfo,
): Promise<Float32Array> {
  try {
    return floats(await readTensorData(source, file, tensor));
  } catch (error) {
    if (error instanceof GgufError) throw damaged(`The imatrix GGUF is damaged: ${error.message}`, {}, error);
    throw error;
  }
}

// A copy of little-endian float32 bytes (Buffer.slice would share memory, and its offset need not be aligned).
const floats = (bytes: Uint8Array): Float32Array => new Float32Array(new Uint8Array(bytes).buffer);

const roundHalfAway = (x: number): number => (x < 0 ? -Math.floor(-x + 0.5) : Math.floor(x + 0.5));

// std::string's ordering (std::map keys): byte by byte.
function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function parseLegacyImatrix(bytes: Uint8Array): Imatrix {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  const int32 = (what: string): number => {
    if (at + 4 > bytes.length)
      throw damaged(`The imatrix ends before ${what} (at byte ${at}).`, { offset: at });
    const value = view.getInt32(at, true);
    at += 4;
    return value;
  };
  const entryCount = int32('the entry count');
  if (entryCount < 1)
    throw damaged('The file is neither a GGUF imatrix nor a legacy .dat imatrix with entries.', {
      offset: 0,
    });
  const entries = new Map<string, ImatrixEntry>();
  for (let i = 0; i < entryCount; i++) {
    const nameLength = int32(`the name of entry ${i + 1}`);
    if (nameLength < 0 || nameLength > MAX_LEGACY_NAME_BYTES || at + nameLength > bytes.length)
      throw damaged(`Entry ${i + 1} of the imatrix has a name length of ${nameLength}.`, { offset: at - 4 });
    const nameBytes = bytes.subarray(at, at + nameLength);
    at += nameLength;
    // C reads the name as a C string: it stops at the first NUL.
    const nul = nameBytes.indexOf(0);
    const name = Buffer.from(nul < 0 ? nameBytes : nameBytes.subarray(0, nul)).toString('utf8');
    const calls = int32(`the call count of "${name}"`);
    const valueCount = int32(`the value count of "${name}"`);
    if (valueCount < 1 || at + valueCount * 4 > bytes.length)
      throw damaged(`Entry "${name}" of the imatrix has ${valueCount} values, past the end of the file.`, {
        offset: at - 4,
        tensor: name,
      });
    const sums = floats(bytes.subarray(at, at + valueCount * 4));
    at += valueCount * 4;
    entries.set(name, { sums, counts: Float64Array.of(calls) });
  }
  // The chunk count and the dataset name at the end are optional.
  let chunkCount = 0;
  const datasets: string[] = [];
  if (at + 4 <= bytes.length) {
    chunkCount = int32('the chunk count');
    if (at + 4 <= bytes.length) {
      const length = int32('the dataset name');
      if (length > 0 && at + length <= bytes.length) {
        const name = bytes.subarray(at, at + length);
        const nul = name.indexOf(0);
        datasets.push(Buffer.from(nul < 0 ? name : name.subarray(0, nul)).toString('utf8'));
      }
    }
  }
  return { format: 'legacy', entries: sortedEntries(entries), datasets, chunkCount, chunkSize: 0 };
}

function sortedEntries(entries: Map<string, ImatrixEntry>): Map<string, ImatrixEntry> {
  return new Map([...entries.keys()].sort(compareBytes).map((name) => [name, entries.get(name)!]));
}

/**
 * The file bytes of an importance matrix in its format, as llama-imatrix
 * writes them: GGUF with general.type, imatrix.datasets, chunk_count and
 * chunk_size and an `.in_sum2`/`.counts` tensor pair per entry (sorted by
 * name); legacy .dat with the entries, the chunk count and the last dataset.
 *
 * @example
 * fs.writeFileSync('copy.imatrix', serializeImatrix(await parseImatrix(bytes)));
 */
export function serializeImatrix(imatrix: Imatrix): Uint8Array {
  return imatrix.format === 'gguf' ? serializeGgufImatrix(imatrix) : serializeLegacyImatrix(imatrix);
}

function serializeGgufImatrix(imatrix: Imatrix): Uint8Array {
  const names = [...imatrix.entries.keys()].sort(compareBytes);
  const specs = names.flatMap((name) => {
    const { sums, counts } = imatrix.entries.get(name)!;
    const experts = counts.length;
    // gguf writes ggml_n_dims dimensions: a trailing 1 is dropped.
    const dims = (inner: number) => (experts > 1 ? [inner, experts] : [inner]);
    return [
      { name: `${name}${SUMS_SUFFIX}`, type: GgmlType.F32, dims: dims(sums.length / experts), data: sums },
      { name: `${name}${COUNTS_SUFFIX}`, type: GgmlType.F32, dims: dims(1), data: Float32Array.from(counts) },
    ];
  });
  const tensors = layoutTensors(specs, DEFAULT_ALIGNMENT);
  const header = serializeGgufHeader({
    metadata: [
      ggufEntry.string('general.type', 'imatrix'),
      ggufEntry.array('imatrix.datasets', GgufValueType.STRING, imatrix.datasets),
      ggufEntry.uint32('imatrix.chunk_count', imatrix.chunkCount),
      ggufEntry.uint32('imatrix.chunk_size', imatrix.chunkSize),
    ],
    tensors,
  });
  const last = tensors.at(-1);
  const dataBytes = last ? last.offset + Math.ceil(last.byteSize / DEFAULT_ALIGNMENT) * DEFAULT_ALIGNMENT : 0;
  const out = new Uint8Array(header.length + dataBytes);
  out.set(header);
  specs.forEach((spec, i) => out.set(new Uint8Array(spec.data.buffer), header.length + tensors[i].offset));
  return out;
}

function serializeLegacyImatrix(imatrix: Imatrix): Uint8Array {
  const parts: Uint8Array[] = [];
  const int32 = (value: number) => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, value, true);
    parts.push(b);
  };
  const names = [...imatrix.entries.keys()].sort(compareBytes);
  int32(names.length);
  for (const name of names) {
    const { sums, counts } = imatrix.entries.get(name)!;
    const nameBytes = Buffer.from(name, 'utf8');
    int32(nameBytes.length);
    parts.push(nameBytes);
    int32(counts[0] ?? 0);
    int32(sums.length);
    parts.push(new Uint8Array(sums.buffer, sums.byteOffset, sums.byteLength));
  }
  int32(imatrix.chunkCount);
  const dataset = Buffer.from(imatrix.datasets.at(-1) ?? '', 'utf8');
  int32(dataset.length);
  parts.push(dataset);
  return Buffer.concat(parts);
}

/**
 * Converts between the formats as llama-imatrix does when it loads one and
 * saves the other (load_imatrix, save_imatrix, save_imatrix_legacy), with its
 * chunk size (tokens per chunk, 512 unless it ran with another --ctx-size).
 *
 * @example
 * const legacy = convertImatrix(await parseImatrix(gguf), 'legacy');
 */
export function convertImatrix(imatrix: Imatrix, format: Imatrix['format'], chunkSize = 512): Imatrix {
  if (imatrix.format === format) return imatrix;
  const fround = Math.fround;
  const entries = new Map<string, ImatrixEntry>();
  let maxCount = 0;
  if (format === 'gguf') {
    // load_imatrix of a legacy file: sums * chunk_size, counts ncall * chunk_size.
    for (const [name, { sums, counts }] of imatrix.entries) {
      const count = counts[0] * chunkSize;
      maxCount = Math.max(maxCount, count);
      entries.set(name, { sums: sums.map((v) => fround(v * chunkSize)), counts: Float64Array.of(count) });
    }
    return {
      format,
      entries,
      datasets: imatrix.datasets,
      chunkCount: Math.trunc(maxCount / chunkSize),
      chunkSize,
    };
  }
  // save_imatrix_legacy: entries without any data are left out; the stored
  // value is (sum / count) * ncall, with ncall the chunks rounded up; the
  // chunk count is what load_imatrix derives from the largest count.
  for (const [name, { sums, counts }] of imatrix.entries) {
    maxCount = Math.max(maxCount, ...counts);
    if (counts.every((c) => c === 0)) continue;
    const calls = Math.trunc((Math.max(...counts) + chunkSize - 1) / chunkSize);
    const perExpert = sums.length / counts.length;
    const stored = sums.map((value, i) => {
      const count = counts[Math.trunc(i / perExpert)];
      return count === 0 ? fround(1 * calls) : fround(fround(value / fround(count)) * calls);
    });
    entries.set(name, { sums: stored, counts: Float64Array.of(calls) });
  }
  return {
    format,
    entries,
    datasets: imatrix.datasets,
    chunkCount: Math.trunc(maxCount / chunkSize),
    chunkSize: 0,
  };
}
