import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MAX_MANIFEST_BYTES, type Descriptor, type FetchedManifest } from '../descriptor.js';
import { OciError } from '../errors.js';
import { writeResumableFile } from '../fs/resumable-write.js';
import { verifying, writeVerifiedFile, type VerifiedTransferOptions } from '../fs/verified-write.js';
import type { Authenticator } from './auth.js';
import { blobChunks } from './blob-download.js';
import type { BlobSource } from './blob-source.js';
import { hasBlob, pushBlob, type PushBlobOptions, type PushBlobResult } from './blob-upload.js';
import { drain, RegistryHttp, type RegistryHttpOptions } from './http.js';
import { getManifest, headManifest, putManifest, type PutManifestResult } from './manifests.js';
import { pushReferrer, referrers, type PushReferrerResult } from './referrers.js';
import { listTags } from './tags.js';

export type RegistryClientOptions = RegistryHttpOptions;

/**
 * A client for one registry, speaking the OCI distribution spec v1.1
 * (github.com/opencontainers/distribution-spec, spec.md): blobs, manifests,
 * tags and referrers, with auth, retries, stall timeouts, resumable uploads
 * and downloads, and digest checks on everything it reads. Each method is a
 * thin call into one file of this folder (http, blob-upload, blob-download,
 * manifests, referrers, tags); the class holds the connection settings.
 *
 * @example
 * const client = new RegistryClient({ registry: '127.0.0.1:5000' });
 * await client.ping();
 * const tags = await client.listTags('models/qwen3');
 */
export class RegistryClient {
  readonly http: RegistryHttp;

  constructor(options: RegistryClientOptions) {
    this.http = new RegistryHttp(options);
  }

  /** `host[:port]`. */
  get registry(): string {
    return this.http.registry;
  }

  /** `http(s)://host[:port]`. */
  get baseUrl(): string {
    return this.http.baseUrl;
  }

  get auth(): Authenticator {
    return this.http.auth;
  }

  /**
   * Checks that the registry speaks the distribution API (GET /v2/), and that
   * our credentials work if it wants some.
   */
  async ping(signal?: AbortSignal): Promise<{ apiVersion: string | null }> {
    const response = await this.http.send('GET', `${this.baseUrl}/v2/`, { scopes: [], signal });
    if (response.status === 404) {
      await drain(response);
      throw new OciError(
        'UNSUPPORTED_REGISTRY',
        `${this.registry} does not serve the OCI distribution API (GET /v2/ answered 404).`,
        { details: { registry: this.registry } },
      );
    }
    if (!response.ok) throw await this.http.unexpected(response, 'answer GET /v2/');
    await drain(response);
    return { apiVersion: response.headers.get('docker-distribution-api-version') };
  }

  /** True when the repository has the blob. */
  hasBlob(repository: string, digest: string, signal?: AbortSignal): Promise<boolean> {
    return hasBlob(this.http, repository, digest, signal);
  }

  /**
   * Uploads a blob unless the repository has it: HEAD, a cross-repository
   * mount when `mountFrom` is given, then a monolithic PUT (small blobs), one
   * streamed PATCH, or PATCH chunks, resumed when a connection breaks.
   */
  pushBlob(
    repository: string,
    blob: BlobSource,
    digest: string,
    options: PushBlobOptions = {},
  ): Promise<PushBlobResult> {
    return pushBlob(this.http, repository, blob, digest, options);
  }

  /**
   * Streams a blob into `sink`, hashing as it goes, resuming with Range when
   * the connection drops or stalls. Throws DIGEST_MISMATCH or SIZE_MISMATCH
   * after the last byte when the content is not what the descriptor names;
   * callers write to a temp file and rename only on success.
   */
  async fetchBlob(
    repository: string,
    descriptor: Pick<Descriptor, 'digest' | 'size'>,
    sink: NodeJS.WritableStream,
    options: VerifiedTransferOptions = {},
  ): Promise<void> {
    await pipeline(
      Readable.from(blobChunks(this.http, repository, descriptor, options.signal)),
      verifying(descriptor, this.blobName(repository, descriptor.digest), options.onProgress),
      sink,
      { signal: options.signal },
    );
  }

  /**
   * Downloads a blob to `file` atomically: a temp file beside it, renamed only
   * after the digest and size check pass. With `resume`, the temp file has a
   * fixed name and outlives a failure, and the next call asks only for the
   * bytes it lacks.
   */
  async downloadBlob(
    repository: string,
    descriptor: Pick<Descriptor, 'digest' | 'size'>,
    file: string,
    options: VerifiedTransferOptions = {},
  ): Promise<void> {
    if (options.resume) {
      await writeResumableFile(
        (offset) => blobChunks(this.http, repository, descriptor, options.signal, offset),
        descriptor,
        file,
        this.blobName(repository, descriptor.digest),
        options,
      );
      return;
    }
    await writeVerifiedFile(
      blobChunks(this.http, repository, descriptor, options.signal),
      descriptor,
      file,
      this.blobName(repository, descriptor.digest),
      options,
    );
  }

  /** A small blob (a config) in memory, verified; refused unread above MAX_MANIFEST_BYTES. */
  async fetchBlobBytes(
    repository: string,
    descriptor: Pick<Descriptor, 'digest' | 'size'>,
    signal?: AbortSignal,
  ): Promise<Buffer> {
    if (descriptor.size > MAX_MANIFEST_BYTES)
      throw new OciError(
        'INVALID_MANIFEST',
        `Blob ${descriptor.digest} is too large (${descriptor.size} bytes) to read into memory.`,
        { details: { digest: descriptor.digest } },
      );
    const chunks: Buffer[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk);
        callback();
      },
    });
    await this.fetchBlob(repository, descriptor, sink, { signal });
    return Buffer.concat(chunks);
  }

  private blobName(repository: string, digest: string): string {
    return `Blob ${digest} from ${this.registry}/${repository}`;
  }

  /** A manifest or index by tag or digest, checked against its digest. */
  getManifest(repository: string, reference: string, signal?: AbortSignal): Promise<FetchedManifest> {
    return getManifest(this.http, repository, reference, signal);
  }

  /** The descriptor a tag or digest names, without the body; undefined when absent. */
  headManifest(repository: string, reference: string, signal?: AbortSignal): Promise<Descriptor | undefined> {
    return headManifest(this.http, repository, reference, signal);
  }

  /**
   * Stores exactly one manifest under a tag or its digest. For a manifest
   * with a `subject`, use `pushReferrer`, which also keeps the referrers
   * tag-schema index of registries without the referrers API.
   */
  putManifest(
    repository: string,
    reference: string,
    bytes: Buffer,
    mediaType: string,
    signal?: AbortSignal,
  ): Promise<PutManifestResult> {
    return putManifest(this.http, repository, reference, bytes, mediaType, signal);
  }

  /** Stores a manifest with a `subject` by digest, and lists it where `referrers` finds it. */
  pushReferrer(
    repository: string,
    bytes: Buffer,
    mediaType: string,
    signal?: AbortSignal,
  ): Promise<PushReferrerResult> {
    return pushReferrer(this.http, repository, bytes, mediaType, signal);
  }

  /** The manifests whose `subject` is `digest`, by the referrers API or its tag-schema fallback. */
  referrers(
    repository: string,
    digest: string,
    options: { artifactType?: string; signal?: AbortSignal } = {},
  ): Promise<Descriptor[]> {
    return referrers(this.http, repository, digest, options);
  }

  /** Every tag of a repository, each once, following pagination links. */
  listTags(repository: string, signal?: AbortSignal): Promise<string[]> {
    return listTags(this.http, repository, signal);
  }
}
