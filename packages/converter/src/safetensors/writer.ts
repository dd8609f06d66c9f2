import fs from 'node:fs/promises';
import path from 'node:path';
import { ConverterError } from '../errors.js';
import { SAFETENSORS_DTYPE_SIZES, type SafetensorsDtype } from './dtypes.js';

/** One tensor to write. `data` may be produced lazily so only one tensor is in memory at a time. */
export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  data: Uint8Array | (() => Uint8Array | Promise<Uint8Array>);
}

export interface WriteSafetensorsOptions {
  /** The `__metadata__` string map (for example `{ format: 'pt' }`). */
  metadata?: Record<string, string>;
}

/**
 * The header bytes (length prefix plus JSON, space-padded to a multiple of 8
 * as the safetensors crate does) for tensors laid out in the given order.
 */
export function encodeSafetensorsHeader(
  entries: Array<Omit<SafetensorsEntry, 'data'>>,
  metadata?: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const entry of entries) {
    const length = entry.shape.reduce((a, b) => a * b, 1) * SAFETENSORS_DTYPE_SIZES[entry.dtype];
    header[entry.name] = { dtype: entry.dtype, shape: entry.shape, data_offsets: [offset, offset + length] };
    offset += length;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
  const out = new Uint8Array(8 + json.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

/**
 * Writes a safetensors file atomically (a temp file beside `file`, renamed
 * when complete). Tensors are written in the order given; lazy `data`
 * functions are called one at a time.
 *
 * @example
 * await writeSafetensors('model.safetensors', [
 *   { name: 'w', dtype: 'F32', shape: [2], data: new Uint8Array(new Float32Array([1, 2]).buffer) },
 * ]);
 */
export async function writeSafetensors(
  file: string,
  entries: SafetensorsEntry[],
  options: WriteSafetensorsOptions = {},
): Promise<void> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  const handle = await fs.open(temp, 'wx');
  try {
    await handle.write(encodeSafetensorsHeader(entries, options.metadata));
    for (const entry of entries) {
      const data = typeof entry.data === 'function' ? await entry.data() : entry.data;
      const expected = entry.shape.reduce((a, b) => a * b, 1) * SAFETENSORS_DTYPE_SIZES[entry.dtype];
      if (data.byteLength !== expected) {
        throw new ConverterError(
          'INVALID_INPUT',
          `Tensor ${entry.name} has ${data.byteLength} bytes of data, but its shape and dtype need ${expected}.`,
          { category: 'internal', details: { tensor: entry.name } },
        );
      }
      await handle.write(data);
    }
    await handle.sync();
    await handle.close();
    await fs.rename(temp, file);
  } catch (error) {
    await handle.close().catch(() => undefined);
    await fs.rm(temp, { force: true });
    throw error;
  }
}
