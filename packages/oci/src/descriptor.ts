/** The platform of an image in an index (image-spec image-index.md). */
export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

/** An OCI content descriptor (image-spec descriptor.md): what a manifest, index or layout names content by. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  platform?: Platform;
  urls?: string[];
}

/** An image manifest (image-spec manifest.md); artifacts use it too, with `artifactType` and `subject`. */
export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** An image index (image-spec image-index.md), also the shape of an OCI layout's index.json. */
export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** Docker's healthcheck, which the OCI config carries as an extension that docker and podman (docker format) read. */
export interface HealthConfig {
  Test: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  Retries?: number;
}

/** The `config` part of an image configuration: how a container runs. */
export interface ContainerConfig {
  User?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Env?: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  Volumes?: Record<string, Record<string, never>>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  Healthcheck?: HealthConfig;
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  comment?: string;
  empty_layer?: boolean;
  author?: string;
}

/** The OCI image configuration (image-spec config.md). */
export interface ImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  variant?: string;
  config?: ContainerConfig;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: HistoryEntry[];
}

/** An image read from a layout or a registry: its manifest's descriptor, the manifest and the parsed config. */
export interface ImageRecord {
  manifestDescriptor: Descriptor;
  manifest: ImageManifest;
  config: ImageConfig;
}

/** A manifest or index as stored: its exact bytes, their digest and media type. */
export interface FetchedManifest {
  bytes: Buffer;
  digest: string;
  mediaType: string;
}

/**
 * Manifests, indexes and configs are small; a multi-megabyte one is hostile
 * or broken, and reading it whole into memory is what we refuse (CWE-400).
 * The distribution registry refuses manifests over 4 MiB as well.
 */
export const MAX_MANIFEST_BYTES = 4 << 20;
