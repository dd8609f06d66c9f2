// The bundle format, versions 1 and 2. docs/bundle.md describes it for people;
// schema.ts holds the JSON Schemas that readBundle enforces. Field names in
// the JSON files are snake_case, as in the original Alki README's examples
// (`timeout_s`), so that non-TypeScript consumers see one style.

/** `"auto"` lets llama-server pick (the number of physical cores). */
export type ThreadSetting = number | 'auto';

/** `"auto"` lets llama-server fit layers to the GPU it finds (none on a CPU-only device). */
export type GpuLayerSetting = number | 'auto';

/** Server arguments shared by manifest.defaults and runtime.args. */
export interface RuntimeArgs {
  /** Context size in tokens (llama-server --ctx-size). */
  ctx: number;
  threads: ThreadSetting;
  /** Layers offloaded to a GPU (llama-server --n-gpu-layers); `auto` (the default) leaves it to llama-server's fit, 0 keeps the model on the CPU. */
  ngl: GpuLayerSetting;
  /**
   * Requests served at once (llama-server --parallel), each with its own `ctx`
   * tokens. Bundles written before this field existed mean DEFAULT_PARALLEL.
   */
  parallel?: number;
}

/**
 * What an artifact is for: a language model llama-server serves (`--model`),
 * or the vision projector (`--mmproj`) that lets it read images. Format 2.
 */
export type ArtifactRole = 'model' | 'mmproj';

/** One model file of the bundle. */
export interface BundleArtifact {
  /** The quantization label a user asked for: `Q4_K_M`, `Q8_0`, `F16`... */
  quant: string;
  /** Path relative to the bundle root, `./models/<file>.gguf`. Never leaves the bundle. */
  uri: string;
  /** Lower-case hex SHA-256 of the file. */
  sha256: string;
  /** Size in bytes. */
  size: number;
  /** The GGUF `general.file_type` name as llama.cpp prints it (`MOSTLY_Q4_K_M`), when the file says. */
  file_type?: string;
  /** Format 2: `mmproj` for the vision projector; absent (or `model`) for a language model. */
  role?: ArtifactRole;
}

/** Every non-model file of the bundle except manifest.json itself, with its hash. */
export interface BundleFileEntry {
  /** Path relative to the bundle root, `metadata/runtime.json`, forward slashes. */
  path: string;
  sha256: string;
  size: number;
}

/** Where the model came from. */
export interface BundleSource {
  /** `hub` (org/name on a Hugging Face hub), `local-gguf`, `local-hf` (a checkpoint folder), `demo`. */
  kind: 'hub' | 'local-gguf' | 'local-hf' | 'demo';
  /** `org/name` on the hub; for local sources, the file or folder name. */
  repo: string;
  /** The resolved commit sha for hub sources; null for local ones. */
  revision: string | null;
  /** Files taken from the source, relative to it (the GGUF picked by --filename, or the checkpoint's weights). */
  files: string[];
}

/** The importance matrix a pack quantized with (alki pack --imatrix). */
export interface BundleImatrix {
  /** The file name as given, without its directory. */
  file: string;
  /** Lower-case hex SHA-256 of the file. */
  sha256: string;
  size: number;
  /** `gguf` (llama-imatrix's default) or `legacy` (.dat). */
  format: 'gguf' | 'legacy';
  /** Chunks of text it was computed on (0 when the file does not say). */
  chunks: number;
  /** The calibration texts it was computed on, as the file records them. */
  datasets: string[];
  /** The artifacts (by quant) that were quantized with it. */
  quants: string[];
}

/** metadata/manifest.json. */
export interface BundleManifest {
  /**
   * The format version; readers refuse versions they do not know. Alki
   * writes 1 unless the bundle needs a feature of 2 (a vision projector), so
   * readers of version 1 still read every text-only bundle.
   */
  schema_version: 1 | 2;
  /** The bundle's display name (any printable text; `slug` is the file-safe form). */
  name: string;
  /** DNS-1123 form of the name, used in file names, unit names and Kubernetes objects. */
  slug: string;
  /** `<created date>.<first 8 hex digits of the first artifact's sha256>`, e.g. `2025-09-06.3f2a9c1e`. */
  version: string;
  artifacts: BundleArtifact[];
  defaults: RuntimeArgs;
  /** Chat template family (`chatml`, `llama3`, ...), `custom`, or null when the model has none. */
  template: string | null;
  /** SPDX license id (`apache-2.0` spelled as the hub spells it is accepted) or a LicenseRef; null when unknown. */
  license: string | null;
  /** `general.architecture` of the GGUF: `llama`, `qwen2`... */
  architecture: string;
  /** Total parameter count (sum of tensor element counts). */
  parameter_count: number;
  /** The model's trained context length (`<arch>.context_length`). */
  context_length: number;
  source: BundleSource;
  /** Present when the models were quantized with an importance matrix. */
  imatrix?: BundleImatrix;
  /** The Alki version that wrote the bundle. */
  alki_version: string;
  /** ISO 8601 time the bundle is dated with (source time or SOURCE_DATE_EPOCH), never the wall clock. */
  created: string;
  /** Hashes of every other file, so verify can report tampering anywhere in the bundle. */
  files: BundleFileEntry[];
}

/**
 * The device a bundle was calibrated for (`alki pack --profile`), as the
 * calibration's hardware probe saw it through node-llama-cpp.
 */
export interface RuntimeAccelerator {
  /** The GPU backend llama.cpp used (`cuda`, `vulkan`, `metal`), or `cpu` when none was found. */
  backend: string;
  /** GPU device names as the backend reports them; empty on a CPU. */
  devices: string[];
  /** Memory of all GPU devices together, in bytes (0 on a CPU). */
  vram_bytes: number;
  /** The device's CPU architecture. */
  cpu_architecture: 'x86_64' | 'aarch64' | 'unknown';
  /** The device's name in the profile: the probed host name, or the emulated device class. */
  device: string;
  /** `probe` when measured on the device itself, `emulated` when a device class was emulated. */
  source: 'probe' | 'emulated';
}

/**
 * The update channel a device follows with `alki agent` (`alki pack
 * --agent-channel`): the bundle ships a systemd unit for the agent beside the
 * server's.
 */
export interface RuntimeAgent {
  /** `host/repository:tag` the publisher moves, or `host/repository@sha256:<hex>` to pin. */
  channel: string;
}

/** metadata/runtime.json: what a server needs to start the bundle. */
export interface RuntimeManifest {
  /** 2 when `mmproj` is set, else 1. */
  schema_version: 1 | 2;
  runtime: 'llama.cpp';
  /** The artifact to serve by default, as an artifact uri from the manifest. */
  model: string;
  /** Format 2: the vision projector llama-server loads beside the model (`--mmproj`), an artifact uri with role `mmproj`. */
  mmproj?: string;
  server: {
    host: string;
    port: number;
    /** Serve the OpenAI-compatible API. */
    api: boolean;
  };
  args: RuntimeArgs;
  health: {
    /** llama-server answers 200 on /health once the model is loaded, 503 while loading. */
    path: string;
    timeout_s: number;
  };
  /** The device the bundle was calibrated for; absent when it was packed without a profile. */
  accelerator?: RuntimeAccelerator;
  /** The channel `alki agent` follows on devices; absent when packed without `--agent-channel`. */
  agent?: RuntimeAgent;
}

/** A bundle as readBundle returns it: validated, with paths resolved. */
export interface Bundle {
  /** Absolute path of the bundle root. */
  dir: string;
  manifest: BundleManifest;
  runtime: RuntimeManifest;
}
