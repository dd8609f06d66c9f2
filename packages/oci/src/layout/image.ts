import type { Descriptor, ImageConfig, ImageIndex, ImageManifest, ImageRecord } from '../descriptor.js';
import { isValidDigest } from '../digest.js';
import { OciError } from '../errors.js';
import { ANNOTATION_REF_NAME, DOCKER_CONFIG, isIndexMediaType, OCI_CONFIG } from '../media-types.js';
import { readJsonBlob } from './blobs.js';
import { readIndex } from './layout.js';

/**
 * Maps Node's `process.arch` to the OCI architecture names (image-spec
 * config.md: GOARCH values).
 */
export function ociArchitecture(arch: string = process.arch): string {
  const names: Record<string, string> = {
    x64: 'amd64',
    arm64: 'arm64',
    arm: 'arm',
    ia32: '386',
    ppc64: 'ppc64le',
    s390x: 's390x',
  };
  return names[arch] ?? arch;
}

/**
 * The entry of an index for linux/`architecture`, or the only entry when
 * there is one and it names no platform; undefined otherwise.
 */
export function selectPlatform(manifests: Descriptor[], architecture: string): Descriptor | undefined {
  return (
    manifests.find((d) => d.platform?.os === 'linux' && d.platform.architecture === architecture) ??
    (manifests.length === 1 && !manifests[0].platform ? manifests[0] : undefined)
  );
}

/**
 * Throws INVALID_MANIFEST unless `manifest` is a container image manifest:
 * a config of the OCI or Docker image config type and a list of layers. An
 * artifact (a ModelPack bundle, a signature) is refused here by name.
 */
export function assertImageManifest(manifest: ImageManifest, what: string): void {
  const configType = manifest.config?.mediaType;
  if (!Array.isArray(manifest.layers) || (configType !== OCI_CONFIG && configType !== DOCKER_CONFIG)) {
    throw new OciError(
      'INVALID_MANIFEST',
      `${what} is not a container image (artifactType ${manifest.artifactType ?? 'none'}, config ${configType ?? 'none'}).`,
      { details: { artifactType: manifest.artifactType, configMediaType: configType } },
    );
  }
}

/**
 * Reads the image that `tag` names in the layout (a ref.name, or the digest
 * of an index entry; the only image when none is given), following an image
 * index to linux/`architecture`, with the manifest and config checked
 * against their digests.
 *
 * @example
 * const image = await readImageFromLayout('./base-oci', 'v0.4.0');
 * console.log(image.config.config?.Entrypoint);
 */
export async function readImageFromLayout(
  layoutDir: string,
  tag?: string,
  architecture = ociArchitecture(),
): Promise<ImageRecord> {
  const index = await readIndex(layoutDir);
  const candidates = !tag
    ? index.manifests
    : isValidDigest(tag)
      ? index.manifests.filter(
          (d, i, all) => d.digest === tag && all.findIndex((o) => o.digest === tag) === i,
        )
      : index.manifests.filter((d) => d.annotations?.[ANNOTATION_REF_NAME] === tag);
  if (candidates.length !== 1) {
    const names = index.manifests.map((d) => d.annotations?.[ANNOTATION_REF_NAME]).filter(Boolean);
    const hint = names.length ? `Tags there: ${names.join(', ')}.` : 'The layout holds no tagged image.';
    if (tag)
      throw new OciError('NOT_FOUND', `The OCI layout ${layoutDir} has no image tagged ${tag}.`, {
        hint,
        details: { layout: layoutDir, tag, tags: names },
      });
    throw new OciError(
      'INVALID_REFERENCE',
      `The OCI layout ${layoutDir} holds ${candidates.length} images; name one with :TAG.`,
      { hint, details: { layout: layoutDir, tags: names } },
    );
  }
  let descriptor = candidates[0];
  const where = `${descriptor.digest} in ${layoutDir}`;
  if (isIndexMediaType(descriptor.mediaType)) {
    const nested = await readJsonBlob<ImageIndex>(layoutDir, descriptor);
    const chosen = Array.isArray(nested.manifests)
      ? selectPlatform(nested.manifests, architecture)
      : undefined;
    if (!chosen)
      throw new OciError('NOT_FOUND', `The image index ${where} has no linux/${architecture} image.`, {
        details: { layout: layoutDir, digest: descriptor.digest, architecture },
      });
    descriptor = chosen;
  }
  const manifest = await readJsonBlob<ImageManifest>(layoutDir, descriptor);
  assertImageManifest(manifest, `${tag ?? descriptor.digest} in ${layoutDir}`);
  const config = await readJsonBlob<ImageConfig>(layoutDir, manifest.config);
  return {
    manifestDescriptor: {
      mediaType: descriptor.mediaType || manifest.mediaType || '',
      digest: descriptor.digest,
      size: descriptor.size,
    },
    manifest,
    config,
  };
}
