import {
  ANNOTATION_CREATED,
  ANNOTATION_LICENSES,
  ANNOTATION_TITLE,
  ANNOTATION_VERSION,
  OCI_MANIFEST,
  sha256Digest,
  type Descriptor,
} from '@alki/oci';
import {
  MODELPACK_ARTIFACT,
  MODELPACK_CONFIG,
  MODELPACK_DOC_RAW,
  MODELPACK_FILEPATH_ANNOTATION,
  MODELPACK_WEIGHT_CONFIG_RAW,
  MODELPACK_WEIGHT_RAW,
} from './media-types.js';

/** One file of a bundle with its content digest. */
export interface BundleFileDigest {
  /** Relative to the bundle root, forward slashes: `models/x-q4_k_m.gguf`. */
  path: string;
  digest: string;
  size: number;
}

/** What the ModelPack config and annotations say about the model. */
export interface ModelPackInfo {
  name: string;
  version: string;
  /** ISO 8601, from the bundle (never the wall clock, so a re-push is byte-identical). */
  created: string;
  license: string | null;
  /** `general.architecture`: llama, qwen2... */
  family: string;
  parameterCount: number;
  /** Quant labels of the weights in this artifact, in order: `Q4_K_M`, `F16`... */
  quantizations: string[];
  /** Who is responsible for the model: for a hub model, its organisation. */
  authors?: string[];
  /** Where the model comes from: its hub page. */
  sourceUrl?: string;
  /** The source revision: the hub commit the weights were taken from. */
  revision?: string;
}

/**
 * The ModelPack config (model-spec docs/config.md, media type
 * application/vnd.cncf.model.config.v1+json), as the spec's JSON schema
 * (schema/config-schema.json, vendored in vendor/modelpack) allows it: no
 * field outside the spec, because the schema allows no other keys.
 */
export interface ModelPackConfig {
  descriptor: {
    createdAt?: string;
    authors?: string[];
    family?: string;
    name?: string;
    version?: string;
    title?: string;
    sourceURL?: string;
    revision?: string;
    licenses?: string[];
  };
  config: {
    architecture?: string;
    format?: string;
    paramSize?: string;
    precision?: string;
    quantization?: string;
  };
  modelfs: { type: 'layers'; diffIds: string[] };
}

/** A manifest ready to push: its config blob and the manifest bytes. */
export interface ModelPackArtifact {
  config: { bytes: Buffer; descriptor: Descriptor };
  manifest: { bytes: Buffer; digest: string; mediaType: string };
  layers: Descriptor[];
}

/** The annotation that marks a one-quant artifact of a multi-quant bundle, with its quant label. */
export const QUANT_ANNOTATION = 'io.alki.bundle.quant';

// Files that say how to run the weights are ModelPack "weight config"
// layers; license, README, SBOM and deploy files are "doc" layers.
const WEIGHT_CONFIG_FILES = new Set(['metadata/manifest.json', 'metadata/runtime.json']);

/** The ModelPack layer media type of a bundle file. */
export function layerMediaType(path: string): string {
  if (path.endsWith('.gguf')) return MODELPACK_WEIGHT_RAW;
  if (WEIGHT_CONFIG_FILES.has(path)) return MODELPACK_WEIGHT_CONFIG_RAW;
  return MODELPACK_DOC_RAW;
}

// ModelPack config.md: paramSize is a count with at most one decimal and a
// scale letter (`6.7B`, `135M`).
export function formatParamSize(count: number): string {
  const scales: Array<[number, string]> = [
    [1e12, 'T'],
    [1e9, 'B'],
    [1e6, 'M'],
    [1e3, 'K'],
  ];
  for (const [scale, letter] of scales)
    if (count >= scale) return `${Math.round((count / scale) * 10) / 10}${letter}`;
  return String(count);
}

// GGUF's unquantized tensor types, named as ModelPack's precision table
// (docs/config.md, "precision") names them; every other GGUF type is a
// quantization, which the spec leaves free-form (its examples are awq, gptq).
const GGUF_PRECISIONS: Record<string, string> = {
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  F64: 'float64',
};

/** The `config` part of a ModelPack config: float types as precision, the rest as quantization, comma-separated. */
export function modelPackTechnical(
  info: Pick<ModelPackInfo, 'parameterCount' | 'quantizations'>,
): ModelPackConfig['config'] {
  const labels = [...new Set(info.quantizations.map((quant) => quant.toUpperCase()))];
  const precisions = labels.filter((label) => GGUF_PRECISIONS[label]).map((label) => GGUF_PRECISIONS[label]);
  const quantizations = labels.filter((label) => !GGUF_PRECISIONS[label]);
  return {
    architecture: 'transformer',
    format: 'gguf',
    paramSize: formatParamSize(info.parameterCount),
    ...(precisions.length ? { precision: precisions.join(',') } : {}),
    ...(quantizations.length ? { quantization: quantizations.join(',') } : {}),
  };
}

function layerOrder(a: BundleFileDigest, b: BundleFileDigest): number {
  // Weights first (the order the bundle lists them), then everything else by path.
  const weightA = a.path.endsWith('.gguf');
  const weightB = b.path.endsWith('.gguf');
  if (weightA !== weightB) return weightA ? -1 : 1;
  if (weightA) return 0;
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

/**
 * Lays a bundle out as a CNCF ModelPack artifact (github.com/modelpack/model-spec,
 * docs/spec.md and docs/config.md): an OCI image manifest with
 * `artifactType: application/vnd.cncf.model.manifest.v1+json`, a ModelPack
 * config, and one raw layer per file annotated with its path. Pure and
 * deterministic: the same bundle always gives the same manifest digest.
 *
 * @example
 * const artifact = buildModelPackArtifact(info, files);
 * // push artifact.config.bytes, every file, then artifact.manifest.bytes
 */
export function buildModelPackArtifact(
  info: ModelPackInfo,
  files: BundleFileDigest[],
  extraAnnotations: Record<string, string> = {},
): ModelPackArtifact {
  const ordered = [...files].sort(layerOrder);
  const layers: Descriptor[] = ordered.map((file) => ({
    mediaType: layerMediaType(file.path),
    digest: file.digest,
    size: file.size,
    annotations: {
      [MODELPACK_FILEPATH_ANNOTATION]: file.path,
      // ORAS names pulled files after the title; with the full path it restores the layout.
      [ANNOTATION_TITLE]: file.path,
    },
  }));
  // Raw layers are not tars: the DiffID of each is the digest of its own bytes.
  const config: ModelPackConfig = {
    descriptor: {
      createdAt: info.created,
      ...(info.authors?.length ? { authors: info.authors } : {}),
      family: info.family,
      name: info.name,
      version: info.version,
      title: info.name,
      ...(info.sourceUrl ? { sourceURL: info.sourceUrl } : {}),
      ...(info.revision ? { revision: info.revision } : {}),
      ...(info.license ? { licenses: [info.license] } : {}),
    },
    config: modelPackTechnical(info),
    modelfs: { type: 'layers', diffIds: layers.map((layer) => layer.digest) },
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  const configDescriptor: Descriptor = {
    mediaType: MODELPACK_CONFIG,
    digest: sha256Digest(configBytes),
    size: configBytes.length,
  };
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: MODELPACK_ARTIFACT,
    config: configDescriptor,
    layers,
    annotations: {
      [ANNOTATION_CREATED]: info.created,
      [ANNOTATION_TITLE]: info.name,
      [ANNOTATION_VERSION]: info.version,
      ...(info.license ? { [ANNOTATION_LICENSES]: info.license } : {}),
      ...extraAnnotations,
    },
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  return {
    config: { bytes: configBytes, descriptor: configDescriptor },
    manifest: { bytes: manifestBytes, digest: sha256Digest(manifestBytes), mediaType: OCI_MANIFEST },
    layers,
  };
}
