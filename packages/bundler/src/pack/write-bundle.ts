import { describeSystemError } from '@alki/errors';
import { createSbom, serializeSbom } from '@alki/sbom';
import { createHash } from 'node:crypto';
import { mkdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bundleVersion, isoSeconds, type BundleContent } from '../assemble/content.js';
import { renderBundleReadme } from '../assemble/bundle-readme.js';
import { renderLicenseText } from '../assemble/license-text.js';
import { buildManifest, formatJson } from '../assemble/manifest.js';
import { buildRuntime } from '../assemble/runtime.js';
import { renderDeployFiles } from '../deploy/render-deploy.js';
import { BundlerError } from '../errors.js';
import { projectorArtifact } from '../format/artifacts.js';
import {
  artifactUri,
  LICENSE_PATH,
  MANIFEST_PATH,
  projectorUri,
  README_PATH,
  RUNTIME_PATH,
  SBOM_PATH,
  TRUST_POLICY_PATH,
} from '../format/layout.js';
import type {
  BundleArtifact,
  BundleFileEntry,
  BundleImatrix,
  BundleManifest,
  BundleSource,
  RuntimeAgent,
  RuntimeArgs,
  RuntimeManifest,
} from '../format/types.js';
import { artifactPath } from '../format/validate.js';
import { copyFileHashed, hashFile, throwIfAborted, type CopyStrategy } from '../io/hash.js';
import { walkTree } from '../io/walk.js';
import { quantLabel } from '../model/model-facts.js';
import type { PreparedModel } from './context.js';
import { checkDestination, commitStagingDir, createStagingDir, removeStaleSiblings } from './destination.js';

/** Progress of writing a bundle. */
export interface WriteProgress {
  phase: 'copy' | 'write' | 'commit';
  /** The bundle-relative path being written. */
  file?: string;
  /** Model bytes copied so far, over all models. */
  done?: number;
  total?: number;
}

export interface WriteBundleInput {
  out: string;
  name: string;
  slug: string;
  models: PreparedModel[];
  /** The vision projector (mmproj) that goes beside the models, for a vision-language model. */
  projector?: PreparedModel;
  source: BundleSource;
  hubUrl?: string;
  license: string | null;
  licenseText?: string;
  defaults: RuntimeArgs;
  /** The channel `alki agent` follows on devices: runtime.json records it and deploy/ gets the agent's unit. */
  agent?: RuntimeAgent;
  /** The time every file and the documents are dated with. */
  created: Date;
  alkiVersion: string;
  /** The importance matrix models were quantized with (those with `imatrix` set); recorded in the manifest and SBOM. */
  imatrix?: Omit<BundleImatrix, 'quants'>;
  /** A self-contained trust policy (JSON text) to carry at TRUST_POLICY_PATH. */
  trustPolicy?: string;
  force: boolean;
  strategy: CopyStrategy;
  signal?: AbortSignal;
  onProgress?: (event: WriteProgress) => void;
  /** Called with the staging directory once it exists; a seam for tests and for callers that build scratch files inside it. */
  onStaging?: (staging: string) => void;
  /** A last check of the complete bundle in its staging directory; throwing leaves `out` as it was. */
  check?: (staged: StagedBundle) => Promise<void>;
}

/** A complete bundle still in its hidden staging directory, before it is renamed into place. */
export interface StagedBundle {
  dir: string;
  manifest: BundleManifest;
}

export interface WrittenBundle {
  dir: string;
  manifest: BundleManifest;
  runtime: RuntimeManifest;
  /** True when an existing bundle was replaced (--force). */
  replaced: boolean;
}

/**
 * Builds a bundle in a temp directory beside `out` and renames it into
 * place. On any failure or abort the temp directory is removed and `out` is
 * left as it was.
 */
export async function writeBundle(input: WriteBundleInput): Promise<WrittenBundle> {
  const destination = path.resolve(input.out);
  await removeStaleSiblings(destination);
  const replace = await checkDestination(destination, input.force);
  const staging = await createStagingDir(destination).catch((error: unknown) => {
    throw writeFailure(error, destination, true);
  });
  input.onStaging?.(staging);
  try {
    const artifacts = await placeModels(staging, input);
    const created = isoSeconds(input.created);
    const imatrix: BundleImatrix | undefined = input.imatrix && {
      ...input.imatrix,
      quants: artifacts.filter((_, i) => input.models[i].imatrix).map((a) => a.quant),
    };
    const content: BundleContent = {
      name: input.name,
      slug: input.slug,
      version: bundleVersion(created, artifacts[0].sha256),
      created,
      artifacts,
      defaults: input.defaults,
      facts: input.models[0].facts,
      source: input.source,
      hubUrl: input.hubUrl,
      license: input.license,
      licenseText: input.licenseText,
      alkiVersion: input.alkiVersion,
      ...(imatrix ? { imatrix } : {}),
      ...(input.trustPolicy !== undefined ? { trustPolicy: input.trustPolicy } : {}),
    };
    const runtime = buildRuntime(artifacts[0], input.defaults, projectorArtifact(content), input.agent);
    const sbom = createSbom({
      bundle: { name: content.name, slug: content.slug, version: content.version },
      models: artifacts.map((a) => ({
        uri: a.uri,
        quant: a.quant,
        sha256: a.sha256,
        ...(a.role ? { role: a.role } : {}),
      })),
      source: { repo: content.source.repo, revision: content.source.revision, hubUrl: content.hubUrl },
      license: content.license,
      licenseText: content.licenseText,
      created,
      toolVersion: content.alkiVersion,
      ...(imatrix
        ? {
            imatrix: {
              name: imatrix.file,
              sha256: imatrix.sha256,
              datasets: imatrix.datasets,
              quants: imatrix.quants,
            },
          }
        : {}),
    });
    const texts: Array<{ path: string; text: string }> = [
      { path: RUNTIME_PATH, text: formatJson(runtime) },
      { path: SBOM_PATH, text: serializeSbom(sbom) },
      { path: LICENSE_PATH, text: renderLicenseText(content) },
      { path: README_PATH, text: renderBundleReadme(content, runtime) },
      ...(content.trustPolicy !== undefined ? [{ path: TRUST_POLICY_PATH, text: content.trustPolicy }] : []),
      ...renderDeployFiles(content, runtime),
    ];
    const files: BundleFileEntry[] = [];
    for (const { path: relative, text } of texts) {
      throwIfAborted(input.signal);
      input.onProgress?.({ phase: 'write', file: relative });
      const absolute = path.join(staging, relative);
      await mkdir(path.dirname(absolute), { recursive: true });
      const bytes = Buffer.from(text, 'utf8');
      await writeFile(absolute, bytes, { flag: 'wx' });
      files.push({
        path: relative,
        sha256: createHash('sha256').update(bytes).digest('hex'),
        size: bytes.length,
      });
    }
    const manifest = buildManifest(content, files);
    await mkdir(path.join(staging, path.dirname(MANIFEST_PATH)), { recursive: true });
    await writeFile(path.join(staging, MANIFEST_PATH), formatJson(manifest), { flag: 'wx' });

    // Every file and directory gets the bundle's date, so an archive of the
    // bundle (tar, OCI layer) is byte-identical across runs.
    for (const entry of await walkTree(staging))
      await utimes(path.join(staging, entry.path), input.created, input.created);
    await utimes(staging, input.created, input.created);

    throwIfAborted(input.signal);
    await input.check?.({ dir: staging, manifest });
    throwIfAborted(input.signal);
    input.onProgress?.({ phase: 'commit' });
    await commitStagingDir(staging, destination, replace);
    return { dir: destination, manifest, runtime, replaced: replace };
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw writeFailure(error, destination, false);
  }
}

// Node names the file an operation failed on, which for a bundle is a hidden
// staging path or, for a copy, the source: the user needs to hear about --out.
// Only failures of the machine (disk full, read-only, permissions) are
// rephrased, and any failure to create the staging directory.
function writeFailure(error: unknown, destination: string, creatingStaging: boolean): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const system = typeof code === 'string' ? describeSystemError({ code }) : undefined;
  if (!system || (system.category !== 'environment' && !creatingStaging)) return error;
  return new BundlerError('WRITE_FAILED', `Cannot write the bundle to ${destination}: ${system.message}.`, {
    category: system.category,
    cause: error,
    hint: 'Choose an --out on a writable file system with room for the models, or free some space.',
    details: { path: destination, code },
  });
}

// Scratch outputs sit beside the destination, so a rename moves them; across
// file systems (EXDEV) they are copied like any source.
async function moved(from: string, to: string): Promise<boolean> {
  try {
    await rename(from, to);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EXDEV') return false;
    throw error;
  }
}

async function placeModels(staging: string, input: WriteBundleInput): Promise<BundleArtifact[]> {
  await mkdir(path.join(staging, 'models'));
  const artifacts: BundleArtifact[] = [];
  const files = [...input.models, ...(input.projector ? [input.projector] : [])];
  const sizes = await Promise.all(files.map(async (model) => (await stat(model.file)).size));
  const grandTotal = sizes.reduce((a, b) => a + b, 0);
  let before = 0;
  for (const [index, model] of files.entries()) {
    const projector = model === input.projector;
    const quant = model.quant ?? (model.facts.fileType ? quantLabel(model.facts.fileType) : undefined);
    if (!quant) {
      throw new BundlerError(
        'INVALID_INPUT',
        `${model.file} does not say its quantization (general.file_type), and none was given.`,
        {
          category: 'input',
          hint: 'Pass --quantize with the quant the file holds, for example --quantize Q8_0.',
          details: { file: model.file },
        },
      );
    }
    const uri = projector ? projectorUri(input.slug, quant) : artifactUri(input.slug, quant);
    if (artifacts.some((artifact) => artifact.uri === uri)) {
      throw new BundlerError('INVALID_INPUT', `Two model files would both be ${quant}.`, {
        details: { quant },
      });
    }
    const target = path.join(staging, artifactPath(uri));
    const onBytes = (done: number) =>
      input.onProgress?.({ phase: 'copy', file: artifactPath(uri), done: before + done, total: grandTotal });
    let hashed;
    if (model.scratch && (await moved(model.file, target))) {
      hashed = await hashFile(target, { signal: input.signal, onBytes });
    } else {
      hashed = await copyFileHashed(model.file, target, input.strategy, { signal: input.signal, onBytes });
    }
    before += sizes[index];
    artifacts.push({
      quant,
      uri,
      sha256: hashed.sha256,
      size: hashed.size,
      ...(model.facts.fileType ? { file_type: model.facts.fileType } : {}),
      ...(projector ? { role: 'mmproj' as const } : {}),
    });
  }
  return artifacts;
}
