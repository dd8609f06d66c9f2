import { parseImatrix } from '@alki/quantizer';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { BundlerError } from '../errors.js';
import type { BundleImatrix } from '../format/types.js';

/** An importance matrix read for a pack: the path to quantize with, and what the manifest records of it. */
export interface PackImatrix {
  /** The path as given to --imatrix (llama-quantize records it in quantize.imatrix.file as given). */
  file: string;
  record: Omit<BundleImatrix, 'quants'>;
}

/**
 * Reads and checks an --imatrix file before anything is downloaded or
 * converted: a missing file is a BundlerError, a damaged one the
 * quantizer's typed error (parseImatrix).
 */
export async function readPackImatrix(file: string): Promise<PackImatrix> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new BundlerError('INVALID_INPUT', `Cannot read the importance matrix ${file}.`, {
      cause: error,
      hint: 'Check the --imatrix path; alki imatrix or llama-imatrix writes one.',
      details: { path: file, code: (error as NodeJS.ErrnoException).code },
    });
  }
  const imatrix = await parseImatrix(bytes);
  return {
    file,
    record: {
      file: path.basename(file),
      sha256: createHash('sha256').update(bytes).digest('hex'),
      size: bytes.length,
      format: imatrix.format,
      chunks: imatrix.chunkCount,
      datasets: imatrix.datasets,
    },
  };
}
