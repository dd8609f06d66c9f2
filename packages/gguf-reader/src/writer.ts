import fs from 'node:fs';
import { alignmentFromMetadata, ALIGNMENT_KEY, alignUp } from './alignment.js';
import { GgufError } from './errors.js';
import { ggufEntry } from './metadata.js';
import { layoutTensors, serializeGgufHeader, type GgufTensorSpec } from './serialize.js';
import { fileSystemError } from './sources/file-source.js';
import { removeDeadTempSiblings } from './file-set.js';
import { tempSibling } from './temp-files.js';
import type { GgufMetadataEntry, GgufTensorInfo } from './types.js';

export interface GgufWriterContent {
  metadata: GgufMetadataEntry[];
  tensors: GgufTensorSpec[];
}

export interface GgufWriterOptions {
  /**
   * Alignment of tensor data. general.alignment in the metadata wins; when it
   * is absent and this is not 32, the key is added so readers agree.
   */
  alignment?: number;
  /** 3 unless rewriting an old file byte for byte. */
  version?: 2 | 3;
  littleEndian?: boolean;
  /** The file system to write through; tests inject failures (a full disk) here. Default: node:fs/promises. */
  fileSystem?: WriterFileSystem;
  /**
   * Starts a background fdatasync each time this many bytes have been written
   * since the last one, so the disk writes back while data still streams in
   * and `finish()` only waits for the tail. Off (0) by default: the one fsync
   * in `finish()` alone makes the file durable either way.
   */
  flushEveryBytes?: number;
  /**
   * Whether `finish()` may replace a file already at `destination` (true, the
   * default). With false, the file is linked into place, which fails if a
   * file got there first (another process writing the same output since the
   * caller checked), and `finish()` throws OUTPUT_EXISTS, leaving that file
   * as it is. Where the file system has no hard links (FAT), it checks and
   * renames instead, which leaves the old race.
   */
  replace?: boolean;
}

/** The few file operations the writer needs. */
export interface WriterFileSystem {
  open(path: string, flags: 'wx'): Promise<WriterFileHandle>;
  rename(from: string, to: string): Promise<void>;
  /** A hard link; fails with EEXIST if `to` exists. */
  link(from: string, to: string): Promise<void>;
  rm(path: string, options: { force: true }): Promise<void>;
}

export interface WriterFileHandle {
  write(bytes: Uint8Array, offset: number, length: number): Promise<{ bytesWritten: number }>;
  sync(): Promise<void>;
  /** fdatasync; `sync` stands in where a handle has none. */
  datasync?(): Promise<void>;
  close(): Promise<void>;
}

/** A GGUF being written: the header is on disk, tensor data streams in. */
export interface GgufWriter {
  /** Tensor infos with their data offsets, computed before any data arrives. */
  readonly tensors: GgufTensorInfo[];
  /** Absolute file offset where tensor data starts. */
  readonly dataOffset: number;
  /**
   * Appends tensor data: the tensors' bytes in header order, cut into chunks
   * of any size. Padding between tensors is inserted here. Calls must not overlap.
   */
  writeTensorData(chunk: Uint8Array): Promise<void>;
  /** Checks every byte arrived, flushes to disk and renames the file into place. */
  finish(): Promise<void>;
  /**
   * Checks every byte arrived, flushes to disk and closes the temp file, and
   * returns its path, leaving the rename to the caller: `commitFileSet` renames
   * several such files (the shards of a split model) into place as one.
   */
  prepare(): Promise<string>;
  /** Removes the partial (or prepared) temp file; safe to call more than once or after a failure. */
  abort(): Promise<void>;
}

/**
 * Starts writing a GGUF to a temp file beside `destination`. The header is
 * computed and written first; tensor data streams in through
 * `writeTensorData`, and `finish()` renames the file into place, so an
 * interrupted write never leaves a half-written GGUF at `destination`. Temp
 * files that killed writers left beside `destination` are removed first.
 *
 * @example
 * const writer = await createGgufWriter('out.gguf', {
 *   metadata: [ggufEntry.string('general.architecture', 'llama')],
 *   tensors: [{ name: 'w', type: GgmlType.F32, dims: [4] }],
 * });
 * try {
 *   await writer.writeTensorData(new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer));
 *   await writer.finish();
 * } catch (error) {
 *   await writer.abort();
 *   throw error;
 * }
 */
export async function createGgufWriter(
  destination: string,
  content: GgufWriterContent,
  options: GgufWriterOptions = {},
): Promise<GgufWriter> {
  const metadata = withAlignment(content.metadata, options.alignment);
  const alignment = alignmentFromMetadata(metadata);
  const tensors = layoutTensors(content.tensors, alignment);
  const header = serializeGgufHeader({
    version: options.version,
    littleEndian: options.littleEndian,
    metadata,
    tensors,
    alignment,
  });
  // A killed writer's temp file is recognised by its dead process id and goes first.
  await removeDeadTempSiblings(destination);
  const temp = tempSibling(destination);
  const fileSystem = options.fileSystem ?? fs.promises;
  let handle: WriterFileHandle;
  try {
    handle = await fileSystem.open(temp, 'wx');
  } catch (error) {
    throw fileSystemError(error, temp, 'create');
  }
  return new StreamingWriter(
    fileSystem,
    destination,
    temp,
    handle,
    header,
    tensors,
    alignment,
    options.flushEveryBytes ?? 0,
    options.replace ?? true,
  ).start();
}

function withAlignment(metadata: GgufMetadataEntry[], alignment: number | undefined): GgufMetadataEntry[] {
  if (alignment === undefined) return metadata;
  const present = metadata.some((e) => e.key === ALIGNMENT_KEY);
  if (present) {
    if (alignmentFromMetadata(metadata) !== alignment) {
      throw new GgufError(
        'INVALID_INPUT',
        `The alignment option (${alignment}) differs from general.alignment in the metadata.`,
      );
    }
    return metadata;
  }
  return alignment === alignmentFromMetadata(metadata)
    ? metadata
    : [...metadata, ggufEntry.uint32(ALIGNMENT_KEY, alignment)];
}

const ZEROS = new Uint8Array(4096);

class StreamingWriter implements GgufWriter {
  readonly dataOffset: number;
  /** Bytes written to the file so far. */
  private position = 0;
  private tensorIndex = 0;
  private leftInTensor: number;
  private closed = false;
  private failed: { error: unknown } | undefined;
  /** Bytes written since the last background flush started, and that flush while it runs. */
  private unflushed = 0;
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly fileSystem: WriterFileSystem,
    private readonly destination: string,
    private readonly temp: string,
    private readonly handle: WriterFileHandle,
    private readonly header: Uint8Array,
    readonly tensors: GgufTensorInfo[],
    private readonly alignment: number,
    private readonly flushEveryBytes: number,
    private readonly replace: boolean,
  ) {
    this.dataOffset = header.length;
    this.leftInTensor = tensors.length ? tensors[0].byteSize : 0;
  }

  async start(): Promise<this> {
    try {
      await this.write(this.header);
      await this.skipEmptyTensors();
    } catch (error) {
      await this.abort();
      throw error;
    }
    return this;
  }

  async writeTensorData(chunk: Uint8Array): Promise<void> {
    await this.stopIfFlushFailed();
    this.checkOpen();
    let at = 0;
    while (at < chunk.length) {
      if (this.tensorIndex >= this.tensors.length) {
        throw new GgufError(
          'INVALID_INPUT',
          `Received ${chunk.length - at} bytes of tensor data more than the tensors hold.`,
          { category: 'internal' },
        );
      }
      const take = Math.min(this.leftInTensor, chunk.length - at);
      await this.write(chunk.subarray(at, at + take));
      at += take;
      this.leftInTensor -= take;
      if (this.leftInTensor === 0) await this.skipEmptyTensors();
    }
  }

  // Pads the finished tensor (gguf.cpp pads after every tensor, the last one
  // included) and moves to the next tensor that has bytes to receive.
  private async skipEmptyTensors(): Promise<void> {
    while (this.leftInTensor === 0 && this.tensorIndex < this.tensors.length) {
      const tensor = this.tensors[this.tensorIndex];
      const end = tensor.offset + tensor.byteSize;
      const padded = this.dataOffset + alignUp(end, this.alignment);
      // A zero-byte tensor right after a padded one needs no padding of its own.
      const padding = padded - this.position;
      if (padding > 0)
        await this.write(padding <= ZEROS.length ? ZEROS.subarray(0, padding) : new Uint8Array(padding));
      this.tensorIndex++;
      this.leftInTensor =
        this.tensorIndex < this.tensors.length ? this.tensors[this.tensorIndex].byteSize : 0;
    }
  }

  private async write(bytes: Uint8Array): Promise<void> {
    let done = 0;
    try {
      while (done < bytes.length) {
        const { bytesWritten } = await this.handle.write(bytes, done, bytes.length - done);
        done += bytesWritten;
      }
    } catch (error) {
      // A failed write (a full disk) leaves nothing behind: the temp file goes now.
      this.failed = { error };
      await this.abort();
      throw fileSystemError(error, this.destination, 'write');
    }
    this.position += bytes.length;
    this.unflushed += bytes.length;
    if (this.flushEveryBytes > 0 && this.unflushed >= this.flushEveryBytes && !this.flushing) {
      this.unflushed = 0;
      const handle = this.handle;
      this.flushing = (handle.datasync ? handle.datasync() : handle.sync()).then(
        () => {
          this.flushing = undefined;
        },
        (error: unknown) => {
          // Reported by the next write or by finish(), which stop there.
          this.failed = { error };
          this.flushing = undefined;
        },
      );
    }
  }

  async finish(): Promise<void> {
    const temp = await this.prepare();
    try {
      if (this.replace || !(await this.linkIntoPlace(temp)))
        await this.fileSystem.rename(temp, this.destination);
    } catch (error) {
      await this.abort();
      if (error instanceof GgufError) throw error;
      throw fileSystemError(error, this.destination, 'write');
    }
  }

  // Links the temp file to the destination, which fails if a file is there;
  // false where the file system has no hard links.
  private async linkIntoPlace(temp: string): Promise<boolean> {
    try {
      await this.fileSystem.link(temp, this.destination);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const noLinks = code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'EMLINK';
      if (code === 'EEXIST' || (noLinks && fs.existsSync(this.destination))) {
        throw new GgufError(
          'OUTPUT_EXISTS',
          `${this.destination} appeared while this file was written: another process wrote it. It was left as it is.`,
          { details: { path: this.destination } },
        );
      }
      if (noLinks) return false;
      throw error;
    }
    // The output is in place; a temp name a failed unlink leaves is swept by a later writer once this process exits.
    await this.fileSystem.rm(temp, { force: true }).catch(() => undefined);
    return true;
  }

  async prepare(): Promise<string> {
    await this.stopIfFlushFailed();
    this.checkOpen();
    if (this.tensorIndex < this.tensors.length) {
      const tensor = this.tensors[this.tensorIndex];
      await this.abort();
      throw new GgufError(
        'INVALID_INPUT',
        `Tensor data ended early: "${tensor.name}" is missing ${this.leftInTensor} bytes.`,
        { category: 'internal', details: { tensor: tensor.name, missing: this.leftInTensor } },
      );
    }
    try {
      await this.flushing;
      if (this.failed) throw this.failed.error;
      await this.handle.sync();
      await this.handle.close();
      this.closed = true;
    } catch (error) {
      await this.abort();
      throw fileSystemError(error, this.destination, 'write');
    }
    return this.temp;
  }

  async abort(): Promise<void> {
    // A background flush must end before the handle closes under it.
    await this.flushing;
    if (!this.closed) {
      this.closed = true;
      await this.handle.close().catch(() => undefined);
    }
    await this.fileSystem.rm(this.temp, { force: true });
  }

  // A failed background flush leaves nothing behind either: the temp file
  // goes before the error is reported.
  private async stopIfFlushFailed(): Promise<void> {
    if (this.failed && !this.closed) await this.abort();
  }

  private checkOpen(): void {
    if (this.failed) throw fileSystemError(this.failed.error, this.destination, 'write');
    if (this.closed)
      throw new GgufError('INVALID_INPUT', 'The GGUF writer is already finished or aborted.', {
        category: 'internal',
      });
  }
}
