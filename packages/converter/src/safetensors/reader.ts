import fs from 'node:fs/promises';
import { openRegularFile } from '@alki/gguf-reader';
import { ConverterError } from '../errors.js';
import { parseSafetensorsHeader, parseSafetensorsHeaderLength, type SafetensorsHeader } from './header.js';

/**
 * Reads and validates the header of a safetensors file without reading any
 * tensor data.
 *
 * @example
 * const header = await readSafetensorsHeader('model.safetensors');
 * for (const t of header.tensors) console.log(t.name, t.dtype, t.shape);
 */
export async function readSafetensorsHeader(file: string): Promise<SafetensorsHeader> {
  const handle = await openForReading(file);
  try {
    const { size } = await handle.stat();
    const prefix = await readExactly(handle, 0, 8, file);
    const length = parseSafetensorsHeaderLength(prefix);
    if (8 + length > size) {
      throw new ConverterError(
        'BAD_SAFETENSORS',
        `${file}: the header claims ${length} bytes but the file has only ${size}.`,
        {
          details: { file },
          hint: 'The file is truncated; download it again.',
        },
      );
    }
    const json = await readExactly(handle, 8, length, file);
    try {
      return parseSafetensorsHeader(json, size);
    } catch (error) {
      if (error instanceof ConverterError) error.message = `${file}: ${error.message}`;
      throw error;
    }
  } finally {
    await handle.close();
  }
}

/**
 * Opens a file of the checkpoint for reading, refusing anything but a regular
 * file without blocking on it (a FIFO in place of a safetensors file).
 */
export async function openForReading(file: string): Promise<fs.FileHandle> {
  try {
    return await openRegularFile(file);
  } catch (cause) {
    throw new ConverterError('INVALID_INPUT', (cause as Error).message.replace(/\.$/, ''), {
      cause,
      details: { file },
    });
  }
}

/** Reads a whole file of the checkpoint (config.json, tokenizer.model...), a regular file only. */
export async function readWholeFile(file: string): Promise<Buffer> {
  const handle = await openForReading(file);
  try {
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/** Reads exactly `length` bytes at `offset`, or fails naming the file. */
export async function readExactly(
  handle: fs.FileHandle,
  offset: number,
  length: number,
  file: string,
  into?: Uint8Array,
): Promise<Uint8Array> {
  const buffer = into ?? new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buffer, done, length - done, offset + done);
    if (bytesRead === 0) {
      throw new ConverterError(
        'BAD_SAFETENSORS',
        `${file} ends early: wanted ${length} bytes at offset ${offset}, got ${done}.`,
        {
          details: { file, offset, length },
          hint: 'The file is truncated; download it again.',
        },
      );
    }
    done += bytesRead;
  }
  return buffer;
}
