import type { Descriptor, FetchedManifest } from '../descriptor.js';
import type { VerifiedTransferOptions } from '../fs/verified-write.js';
import type { BlobSource } from '../registry/blob-source.js';
import type { PushBlobResult } from '../registry/blob-upload.js';

/** Progress (bytes of the blob so far) and cancellation for one blob transfer. */
export type TransferOptions = VerifiedTransferOptions;

/**
 * Where artifacts are pushed to and pulled from: one repository of a
 * registry, or an OCI image layout directory. Publishing and pulling are
 * written once against this.
 */
export interface ArtifactStore {
  /** `host/repository` or `oci:DIR`, for messages and results. */
  readonly description: string;
  pushBlob(
    source: BlobSource,
    digest: string,
    options?: TransferOptions,
  ): Promise<Pick<PushBlobResult, 'outcome' | 'bytesUploaded'>>;
  /** The descriptor a tag or digest points at, or undefined. */
  resolve(reference: string, signal?: AbortSignal): Promise<Descriptor | undefined>;
  putManifest(tag: string, bytes: Buffer, mediaType: string, signal?: AbortSignal): Promise<void>;
  getManifest(reference: string, signal?: AbortSignal): Promise<FetchedManifest>;
  /** Writes a blob to `file` atomically after checking its digest and size. */
  downloadBlob(
    descriptor: Pick<Descriptor, 'digest' | 'size'>,
    file: string,
    options?: TransferOptions,
  ): Promise<void>;
  listTags(signal?: AbortSignal): Promise<string[]>;
}
