import {
  DOCKER_LAYER_GZIP,
  OCI_LAYER_GZIP,
  OCI_MANIFEST,
  type ContainerConfig,
  type Descriptor,
  type ImageConfig,
  type ImageManifest,
  type ImageRecord,
} from '@alki/oci';
import type { WrittenLayer } from '../layer/write-layer.js';

export interface NewLayer {
  layer: WrittenLayer;
  /** What made the layer, shown by `podman history` (the Dockerfile-like step). */
  createdBy: string;
  comment?: string;
}

export interface AssembleImageInput {
  /** The base image, or undefined to start from scratch. */
  base?: ImageRecord;
  layers: NewLayer[];
  /** Replaces the base's fields one by one; Env and Labels are merged (ours win), ExposedPorts added. */
  config: ContainerConfig;
  /** ISO 8601; fixed (SOURCE_DATE_EPOCH or the epoch), never the wall clock, so rebuilds give the same digest. */
  created: string;
  architecture: string;
  annotations?: Record<string, string>;
}

// Base layers may be Docker schema 2; their bytes are the same gzip tars, so
// they keep their digests under the OCI media type (image-spec media-types.md,
// "Compatibility Matrix").
function asOciLayer(descriptor: Descriptor): Descriptor {
  const mediaType = descriptor.mediaType === DOCKER_LAYER_GZIP ? OCI_LAYER_GZIP : descriptor.mediaType;
  return {
    mediaType,
    digest: descriptor.digest,
    size: descriptor.size,
    ...(descriptor.annotations ? { annotations: descriptor.annotations } : {}),
  };
}

function mergeEnv(base: string[] = [], ours: string[] = []): string[] {
  const byName = new Map<string, string>();
  for (const entry of [...base, ...ours]) byName.set(entry.split('=')[0], entry);
  return [...byName.values()];
}

/**
 * Assembles an image config and manifest from a base and new layers: pure
 * data in, pure data out. Every layer gets a history entry, which podman
 * needs to use the image as a base: it refuses a base whose history does not cover its layers.
 *
 * @example
 * const { config, manifest } = assembleImage({ layers: [{ layer, createdBy: 'alki: bundle' }], config: { Cmd: ['/app/llama-server'] }, created: '1970-01-01T00:00:00Z', architecture: 'amd64' });
 */
export function assembleImage(input: AssembleImageInput): {
  config: ImageConfig;
  manifest: (configDescriptor: Descriptor) => ImageManifest;
} {
  const base = input.base;
  const baseContainer = base?.config.config ?? {};
  const container: ContainerConfig = { ...baseContainer, ...input.config };
  container.Env = mergeEnv(baseContainer.Env, input.config.Env);
  container.Labels = { ...baseContainer.Labels, ...input.config.Labels };
  container.ExposedPorts = { ...baseContainer.ExposedPorts, ...input.config.ExposedPorts };
  const baseHistory = base?.config.history ?? [];
  const config: ImageConfig = {
    created: input.created,
    architecture: base?.config.architecture ?? input.architecture,
    os: base?.config.os ?? 'linux',
    ...(base?.config.variant ? { variant: base.config.variant } : {}),
    config: container,
    rootfs: {
      type: 'layers',
      diff_ids: [...(base?.config.rootfs.diff_ids ?? []), ...input.layers.map((l) => l.layer.diffId)],
    },
    history: [
      ...baseHistory,
      ...input.layers.map((l) => ({
        created: input.created,
        created_by: l.createdBy,
        ...(l.comment ? { comment: l.comment } : {}),
      })),
    ],
  };
  return {
    config,
    manifest: (configDescriptor) => ({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: configDescriptor,
      layers: [
        ...(base?.manifest.layers ?? []).map(asOciLayer),
        ...input.layers.map((l) => l.layer.descriptor),
      ],
      ...(input.annotations ? { annotations: input.annotations } : {}),
    }),
  };
}

/** The `created` time for a reproducible build: SOURCE_DATE_EPOCH when set (reproducible-builds.org spec), else the epoch. */
export function reproducibleTime(env: NodeJS.ProcessEnv = process.env): { iso: string; seconds: number } {
  const raw = env.SOURCE_DATE_EPOCH;
  const seconds = raw && /^\d+$/.test(raw) ? Number(raw) : 0;
  return { iso: new Date(seconds * 1000).toISOString().replace('.000Z', 'Z'), seconds };
}
