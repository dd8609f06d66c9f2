import { artifactPath, MANIFEST_PATH, readBundle, verifyBundle } from '@alki/bundler';
import path from 'node:path';
import {
  bytesBlob,
  fileBlob,
  isValidTag,
  sha256File,
  throwIfAborted,
  type ArtifactStore,
  type BlobSource,
} from '@alki/oci';
import { PublishError } from '../errors.js';
import {
  buildModelPackArtifact,
  QUANT_ANNOTATION,
  type BundleFileDigest,
  type ModelPackArtifact,
  type ModelPackInfo,
} from './modelpack.js';

export interface PublishProgress {
  phase: 'verify' | 'upload' | 'tag';
  done: number;
  total: number;
  file?: string;
}

export interface PublishOptions {
  /** The bundle directory `alki pack` wrote. */
  bundleDir: string;
  store: ArtifactStore;
  /** The version tag; default the bundle's version (`<created date>.<8 hex digits>`, e.g. `2025-09-06.3f2a9c1e`). */
  tag?: string;
  /** Also move `latest` (and `latest-<quant>`) to this content. Default true. */
  latest?: boolean;
  /** Move a version tag that already points at other content. */
  force?: boolean;
  /**
   * Re-hash every file with verifyBundle while uploading (default true). With
   * false, only the registry's own digest check guards the uploaded blobs:
   * faster on a busy CPU, and blobs the registry already has are not re-read.
   */
  verify?: boolean;
  signal?: AbortSignal;
  onProgress?: (event: PublishProgress) => void;
}

export interface PublishedQuant {
  quant: string;
  tags: string[];
  digest: string;
}

export interface PublishResult {
  /** Where it went: `host/repository` or `oci:DIR`. */
  target: string;
  /** The immutable digest of the whole-bundle manifest. */
  digest: string;
  tags: string[];
  /** For multi-quant bundles, one artifact per quant with its own tags. */
  quants: PublishedQuant[];
  /** Blobs sent, blobs the target already had. */
  blobs: { uploaded: number; existing: number };
  bytesUploaded: number;
  /** Bytes of all distinct blobs of the bundle. */
  totalBytes: number;
}

interface PlannedArtifact {
  artifact: ModelPackArtifact;
  tags: string[];
  /** Tags that must not move to other content without force. */
  versionTags: string[];
  quant?: string;
}

/**
 * Publishes a bundle as CNCF ModelPack artifacts: every file is hashed and
 * checked against metadata/manifest.json first (a tampered bundle is never
 * published), blobs the target has are skipped, and the manifest is tagged
 * with the version and `latest`. A multi-quant bundle also gets one artifact
 * per quant, tagged `<tag>-<quant>`, sharing the same blobs (docs/registry.md
 * says why this and not an image index). A version tag that already points
 * at other content is refused unless `force`.
 *
 * @example
 * const client = new RegistryClient({ registry: '127.0.0.1:5000' });
 * const result = await publishBundle({ bundleDir: './dist/tiny', store: registryStore(client, 'models/tiny'), tag: 'v1.0.0' });
 * console.log(result.digest);
 */
export async function publishBundle(options: PublishOptions): Promise<PublishResult> {
  const { store, signal } = options;
  const bundle = await readBundle(options.bundleDir);
  const { manifest } = bundle;
  const tag = options.tag ?? manifest.version;
  if (!isValidTag(tag) || tag === 'latest') {
    throw new PublishError('INVALID_REFERENCE', `"${tag}" is not a usable version tag.`, {
      hint: 'Use a semver tag such as v1.0.0 (letters, digits, _ . -, at most 128); `latest` is moved for you.',
      details: { tag },
    });
  }

  // Layer digests come from manifest.json, and verifyBundle proves them
  // while the blobs upload: both read the files once, on both cores. No tag
  // points at anything until the verification has passed.
  const files: BundleFileDigest[] = [
    ...manifest.artifacts.map((artifact) => ({
      path: artifactPath(artifact.uri),
      digest: `sha256:${artifact.sha256}`,
      size: artifact.size,
    })),
    ...manifest.files.map((file) => ({ path: file.path, digest: `sha256:${file.sha256}`, size: file.size })),
    { path: MANIFEST_PATH, ...(await sha256File(path.join(bundle.dir, MANIFEST_PATH), signal)) },
  ];

  const hub = manifest.source.kind === 'hub';
  const info: ModelPackInfo = {
    name: manifest.name,
    version: manifest.version,
    created: manifest.created,
    license: manifest.license,
    family: manifest.architecture,
    parameterCount: manifest.parameter_count,
    quantizations: manifest.artifacts.map((artifact) => artifact.quant),
    // A hub repository is `org/name`: the organisation is who answers for the model.
    ...(hub
      ? {
          authors: [manifest.source.repo.split('/')[0]],
          sourceUrl: `https://huggingface.co/${manifest.source.repo}`,
        }
      : {}),
    ...(hub && manifest.source.revision ? { revision: manifest.source.revision } : {}),
  };
  const latest = options.latest ?? true;
  const plans: PlannedArtifact[] = [];
  if (manifest.artifacts.length > 1) {
    for (const artifact of manifest.artifacts) {
      const weight = artifact.uri.replace(/^\.\//, '');
      const own = files.filter((file) => !file.path.endsWith('.gguf') || file.path === weight);
      const suffix = artifact.quant.toLowerCase();
      const versionTag = `${tag}-${suffix}`;
      if (!isValidTag(versionTag))
        throw new PublishError('INVALID_REFERENCE', `The quant tag "${versionTag}" is not a valid tag.`, {
          details: { tag: versionTag },
        });
      plans.push({
        artifact: buildModelPackArtifact({ ...info, quantizations: [artifact.quant] }, own, {
          [QUANT_ANNOTATION]: artifact.quant,
        }),
        tags: [versionTag, ...(latest ? [`latest-${suffix}`] : [])],
        versionTags: [versionTag],
        quant: artifact.quant,
      });
    }
  }
  plans.push({
    artifact: buildModelPackArtifact(info, files),
    tags: [tag, ...(latest ? ['latest'] : [])],
    versionTags: [tag],
  });

  // Refuse before uploading anything, so a refused publish costs nothing.
  for (const plan of plans) {
    for (const versionTag of plan.versionTags) {
      const existing = await store.resolve(versionTag, signal);
      if (existing && existing.digest !== plan.artifact.manifest.digest && !options.force) {
        throw new PublishError(
          'TAG_EXISTS',
          `${store.description}:${versionTag} already points at other content (${existing.digest}).`,
          {
            hint: 'Publish under a new version tag, or pass --force to move the tag.',
            details: { tag: versionTag, existing: existing.digest, new: plan.artifact.manifest.digest },
          },
        );
      }
    }
  }

  const blobs = new Map<string, { source: ReturnType<typeof fileBlob>; file: string }>();
  for (const file of files)
    blobs.set(file.digest, {
      source: fileBlob(path.join(bundle.dir, file.path), file.size),
      file: file.path,
    });
  for (const plan of plans)
    blobs.set(plan.artifact.config.descriptor.digest, {
      source: bytesBlob(plan.artifact.config.bytes),
      file: '(ModelPack config)',
    });
  const total = [...blobs.values()].reduce((sum, blob) => sum + blob.source.size, 0);

  const uploads = new AbortController();
  const stopUploads = () => uploads.abort(signal?.reason);
  signal?.addEventListener('abort', stopUploads, { once: true });
  const verified =
    options.verify === false
      ? Promise.resolve()
      : verifyForPublish(options.bundleDir, bundle.dir, signal, options.onProgress);
  const uploaded = uploadBlobs(store, blobs, total, uploads.signal, options.onProgress);
  const [verification, upload] = await Promise.allSettled([
    verified.catch((error: unknown) => {
      uploads.abort(error);
      throw error;
    }),
    uploaded,
  ]);
  signal?.removeEventListener('abort', stopUploads);
  // A bundle that fails verification explains any upload failure it caused.
  if (verification.status === 'rejected') throw verification.reason;
  if (upload.status === 'rejected') throw upload.reason;
  const { bytesUploaded, counts } = upload.value;

  for (const plan of plans) {
    for (const name of plan.tags) {
      throwIfAborted(signal);
      options.onProgress?.({ phase: 'tag', done: 0, total: 0, file: name });
      await store.putManifest(name, plan.artifact.manifest.bytes, plan.artifact.manifest.mediaType, signal);
    }
  }
  const main = plans.at(-1)!;
  return {
    target: store.description,
    digest: main.artifact.manifest.digest,
    tags: main.tags,
    quants: plans
      .filter((plan) => plan.quant)
      .map((plan) => ({ quant: plan.quant!, tags: plan.tags, digest: plan.artifact.manifest.digest })),
    blobs: counts,
    bytesUploaded,
    totalBytes: total,
  };
}

async function uploadBlobs(
  store: ArtifactStore,
  blobs: Map<string, { source: BlobSource; file: string }>,
  total: number,
  signal: AbortSignal,
  onProgress: PublishOptions['onProgress'],
): Promise<{ bytesUploaded: number; counts: { uploaded: number; existing: number } }> {
  let done = 0;
  let bytesUploaded = 0;
  const counts = { uploaded: 0, existing: 0 };
  for (const [digest, blob] of blobs) {
    throwIfAborted(signal);
    const before = done;
    const result = await store.pushBlob(blob.source, digest, {
      signal,
      onProgress: (bytes) => onProgress?.({ phase: 'upload', done: before + bytes, total, file: blob.file }),
    });
    done = before + blob.source.size;
    bytesUploaded += result.bytesUploaded;
    if (result.outcome === 'uploaded') counts.uploaded++;
    else counts.existing++;
  }
  return { bytesUploaded, counts };
}

async function verifyForPublish(
  bundleDir: string,
  dir: string,
  signal: AbortSignal | undefined,
  onProgress: PublishOptions['onProgress'],
): Promise<void> {
  const report = await verifyBundle(dir, {
    signal,
    onProgress: (event) =>
      onProgress?.({ phase: 'verify', done: event.done, total: event.total, file: event.file }),
  });
  if (!report.ok) {
    throw new PublishError(
      'INVALID_BUNDLE',
      `${bundleDir} does not match its manifest, so it was not published: ${report.problems.map((p) => p.message).join(' ')}`,
      {
        hint: 'Repack the bundle with `alki pack`, or check it with `alki verify`.',
        details: { problems: report.problems.map(({ path: file, kind }) => ({ path: file, kind })) },
      },
    );
  }
}
