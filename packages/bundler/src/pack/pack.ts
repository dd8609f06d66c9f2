import { createRequire } from 'node:module';
import path from 'node:path';
import { BundlerError } from '../errors.js';
import { checkBundleName, slugify } from '../format/naming.js';
import type {
  BundleManifest,
  GpuLayerSetting,
  RuntimeArgs,
  RuntimeManifest,
  ThreadSetting,
} from '../format/types.js';
import { DEFAULT_PARALLEL } from '../deploy/llama-server-args.js';
import { CHANNEL_PATTERN, MAX_PARALLEL } from '../format/schema.js';
import type { CopyStrategy } from '../io/hash.js';
import { inspectGguf, type ModelFacts } from '../model/model-facts.js';
import type { ResolvedSource, SourceContext, SourceProgress } from './context.js';
import { checkDestination, removeStaleSiblings } from './destination.js';
import { readPackImatrix } from './imatrix-file.js';
import { normaliseQuants } from './quantize-models.js';
import { resolveSource } from './sources.js';
import { writeBundle, type StagedBundle, type WriteProgress } from './write-bundle.js';

const require = createRequire(import.meta.url);
/** The Alki version written into manifests and SBOMs (this package's version; all packages release together). */
export const ALKI_VERSION: string = (require('../../package.json') as { version: string }).version;

/** The context a bundle serves by default when the model allows it (the original README's default). */
export const DEFAULT_CONTEXT = 4096;

/**
 * copyFile with FICLONE (a reflink on btrfs/xfs, an in-kernel copy on ext4)
 * then one hash pass over the copy: measured faster than reading, hashing and
 * writing in user space (tools/bench/pack.ts: 0.29 against 0.46 of
 * sha256sum + cp for 1 GiB on ext4), and the hash is of the bytes that landed.
 */
export const DEFAULT_COPY_STRATEGY: CopyStrategy = 'clone';

/** Where bundles go when no --out is given, relative to the working directory. */
export const DEFAULT_OUT_DIR = 'dist';

/** What `pack` reports while it works: resolving the source, then writing the bundle. */
export interface PackProgress extends Omit<SourceProgress, 'phase'> {
  phase: SourceProgress['phase'] | WriteProgress['phase'];
}

/** The replaceable steps of the pipeline. */
export interface PackSteps {
  /** Reads a GGUF's facts from its header. */
  inspect: (file: string) => Promise<ModelFacts>;
}

export interface PackOptions {
  /** A local .gguf file, a local Hugging Face model folder, or `org/name` on the hub. */
  source: string;
  /** The bundle directory to create; `dist/<slug>` (under the working directory) by default. */
  out?: string;
  /** The bundle name; defaults to the model's `general.name`, else the file or repo name. */
  name?: string;
  /** Quantizations to produce, one model file each (`['Q4_K_M', 'Q8_0']`). */
  quantize?: string[];
  /**
   * An importance matrix (llama-imatrix's GGUF or .dat, or alki imatrix's)
   * every quantization uses, as llama-quantize --imatrix; its SHA-256 and
   * calibration texts go into the manifest and the SBOM.
   */
  imatrix?: string;
  /** For hub GGUF repos: a glob that picks exactly one .gguf (`*Q8_0.gguf`). */
  filename?: string;
  /**
   * The vision projector packed beside the model (format 2): for a local
   * .gguf, the path of its mmproj GGUF; for a hub GGUF repo, a glob picking
   * one of the repo's (by default llama.cpp's choice, see selectProjector in
   * @alki/hub). A vision checkpoint's projector is converted with it.
   * `false` packs the model alone.
   */
  mmproj?: string | false;
  /** Hub revision: a branch, tag or commit. */
  revision?: string;
  /** Hub token; defaults to HF_TOKEN. */
  token?: string;
  /** Hub base URL; defaults to HF_ENDPOINT, else https://huggingface.co. */
  hubUrl?: string;
  /** Context size the bundle serves; defaults to min(model context, 4096). */
  contextSize?: number;
  threads?: ThreadSetting;
  /** Requests the bundle serves at once, each with the whole context; default DEFAULT_PARALLEL. */
  parallel?: number;
  /** Layers offloaded to a GPU; `auto` (default) leaves it to llama-server's fit to the device. */
  ngl?: GpuLayerSetting;
  /**
   * A trust policy to carry at metadata/trust-policy.json, as JSON text
   * (self-contained: keys inline, as `alki pack --trust-policy` writes it).
   * The deploy configs then verify the bundle before serving it: the systemd
   * unit runs `alki verify --policy`, the two-stage configs set
   * ALKI_TRUST_POLICY.
   */
  trustPolicy?: string;
  /**
   * The OCI channel devices follow with `alki agent` (`host/repo:tag` or
   * `host/repo@sha256:<hex>`): recorded in runtime.json, and deploy/systemd
   * gets the agent's unit beside the server's.
   */
  agentChannel?: string;
  /** Replace an existing bundle at `out` (atomically). */
  force?: boolean;
  /** Hard-link model files instead of copying (same file system only). */
  link?: boolean;
  /** How models are copied when not linked; `clone` by default (see DEFAULT_COPY_STRATEGY). */
  copyStrategy?: CopyStrategy;
  /** Seconds since the epoch to date the bundle with; defaults to SOURCE_DATE_EPOCH, else the source's time. */
  sourceDateEpoch?: number;
  /** Environment for HF_TOKEN, HF_ENDPOINT, HF_HOME, SOURCE_DATE_EPOCH; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  onProgress?: (event: PackProgress) => void;
  /**
   * Runs on the complete bundle in its hidden staging directory before it is
   * renamed into place (to load and generate with each model, say); throwing
   * aborts the pack and leaves `out` as it was.
   */
  check?: (staged: StagedBundle) => Promise<void>;
  /** Replaces pipeline steps (GGUF inspection). */
  steps?: Partial<PackSteps>;
}

export interface PackResult {
  dir: string;
  manifest: BundleManifest;
  runtime: RuntimeManifest;
  replaced: boolean;
  /** What the pipeline did, in sentences (for example which steps a demo could not run). */
  notes: string[];
}

function sourceDate(options: PackOptions, resolved: ResolvedSource): Date {
  const env = options.env ?? process.env;
  const fromEnv = env.SOURCE_DATE_EPOCH;
  const epoch =
    options.sourceDateEpoch ?? (fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) : undefined);
  if (epoch !== undefined) {
    if (!Number.isSafeInteger(epoch) || epoch < 0) {
      throw new BundlerError(
        'INVALID_INPUT',
        `SOURCE_DATE_EPOCH must be a whole number of seconds, not ${JSON.stringify(fromEnv ?? epoch)}.`,
      );
    }
    return new Date(epoch * 1000);
  }
  // Whole seconds, so file times survive archive formats that keep no more.
  return new Date(Math.floor(resolved.time.getTime() / 1000) * 1000);
}

function defaultArgs(facts: ModelFacts, options: PackOptions): RuntimeArgs {
  const trained = facts.contextLength > 0 ? facts.contextLength : DEFAULT_CONTEXT;
  const ctx = options.contextSize ?? Math.min(trained, DEFAULT_CONTEXT);
  return {
    ctx,
    threads: options.threads ?? 'auto',
    ngl: options.ngl ?? 'auto',
    parallel: options.parallel ?? DEFAULT_PARALLEL,
  };
}

function checkWholeNumber(flag: string, value: number | undefined, max = Number.MAX_SAFE_INTEGER): void {
  if (value === undefined || (Number.isSafeInteger(value) && value >= 1 && value <= max)) return;
  // A command line gives NaN for `--context-size abc`; "not NaN" would tell the user nothing.
  const given = Number.isNaN(value) ? '' : `, not ${value}`;
  const range = max < Number.MAX_SAFE_INTEGER ? ` from 1 to ${max}` : '';
  throw new BundlerError('INVALID_INPUT', `${flag} must be a positive whole number${range}${given}.`, {
    details: { [flag.replace(/^--/, '')]: value },
  });
}

/**
 * Packs a model into a bundle directory: model files, manifest, runtime,
 * SBOM, license, README and deploy configs. The bundle is built beside
 * `out` and renamed into place; an existing `out` is only replaced with
 * `force`, and an interrupted pack leaves the old bundle or nothing.
 *
 * @example
 * const result = await pack({ source: './tiny.gguf', out: './dist/tiny', name: 'tiny' });
 * console.log(result.manifest.artifacts[0].sha256);
 */
export async function pack(options: PackOptions): Promise<PackResult> {
  return packFrom(options, (context) => resolveSource(options.source, context));
}

/**
 * The pack pipeline with the source step given: checks up front, resolve
 * (download, convert, quantize), write the bundle, clean up scratch files.
 */
export async function packFrom(
  options: PackOptions,
  resolve: (context: SourceContext) => Promise<ResolvedSource>,
): Promise<PackResult> {
  // Refuse a bad name or a taken destination before any download or conversion.
  if (options.name !== undefined) slugify(checkBundleName(options.name));
  checkWholeNumber('--context-size', options.contextSize);
  checkWholeNumber('--parallel', options.parallel, MAX_PARALLEL);
  const ngl = options.ngl;
  if (ngl !== undefined && ngl !== 'auto' && !(Number.isSafeInteger(ngl) && ngl >= 0)) {
    const given = Number.isNaN(ngl) ? '' : `, not ${ngl}`;
    throw new BundlerError('INVALID_INPUT', `--ngl must be auto or a whole number of layers${given}.`, {
      details: { ngl },
    });
  }
  if (options.agentChannel !== undefined && !new RegExp(CHANNEL_PATTERN).test(options.agentChannel)) {
    throw new BundlerError(
      'INVALID_INPUT',
      `--agent-channel must name a registry repository with a tag or digest, not ${JSON.stringify(options.agentChannel)}.`,
      {
        hint: 'For example registry.local:5000/models/qwen3:stable, or .../qwen3@sha256:<64 hex digits> to pin one release.',
        details: { 'agent-channel': options.agentChannel },
      },
    );
  }
  if (options.out !== undefined) {
    // A killed pack's leftovers go first; one killed between its two renames gets its old bundle back.
    await removeStaleSiblings(path.resolve(options.out));
    await checkDestination(path.resolve(options.out), Boolean(options.force));
  }
  const imatrix = options.imatrix !== undefined ? await readPackImatrix(options.imatrix) : undefined;

  options.onProgress?.({ phase: 'resolve', message: `Resolving ${options.source}` });
  const scratchParent =
    options.out !== undefined ? path.dirname(path.resolve(options.out)) : path.resolve(DEFAULT_OUT_DIR);
  const resolved = await resolve({
    quants: normaliseQuants(options.quantize),
    hub: {
      filename: options.filename,
      revision: options.revision,
      token: options.token,
      hubUrl: options.hubUrl,
      env: options.env,
    },
    scratchParent,
    inspect: options.steps?.inspect ?? inspectGguf,
    progress: (event) => options.onProgress?.(event),
    signal: options.signal,
    imatrix,
    ...(options.mmproj !== undefined ? { mmproj: options.mmproj } : {}),
  });
  try {
    if (imatrix && !resolved.models.some((model) => model.imatrix)) {
      throw new BundlerError('INVALID_INPUT', '--imatrix was given, but this pack quantized nothing.', {
        hint: 'Add --quantize with the quants to make from the source (for example Q4_K_M), or leave out --imatrix.',
      });
    }
    const facts = resolved.models[0].facts;
    const name = checkBundleName(options.name ?? facts.name ?? resolved.defaultName);
    const slug = slugify(name);
    const defaults = defaultArgs(facts, options);
    const notes = [...resolved.notes];
    if (facts.contextLength > 0 && defaults.ctx > facts.contextLength) {
      notes.push(
        `The context size ${defaults.ctx} is larger than the ${facts.contextLength} tokens the model was trained on; expect worse answers past that.`,
      );
    }
    const written = await writeBundle({
      out: path.resolve(options.out ?? path.join(DEFAULT_OUT_DIR, slug)),
      name,
      slug,
      models: resolved.models,
      ...(resolved.projector ? { projector: resolved.projector } : {}),
      source: resolved.source,
      hubUrl: resolved.hubUrl,
      license: resolved.license ?? facts.license ?? null,
      licenseText: resolved.licenseText,
      defaults,
      ...(options.agentChannel !== undefined ? { agent: { channel: options.agentChannel } } : {}),
      created: sourceDate(options, resolved),
      alkiVersion: ALKI_VERSION,
      ...(imatrix ? { imatrix: imatrix.record } : {}),
      ...(options.trustPolicy !== undefined ? { trustPolicy: options.trustPolicy } : {}),
      force: Boolean(options.force),
      strategy: options.link ? 'link' : (options.copyStrategy ?? DEFAULT_COPY_STRATEGY),
      signal: options.signal,
      onProgress: options.onProgress,
      check: options.check,
    });
    return { ...written, notes };
  } finally {
    await resolved.cleanup();
  }
}
