import { artifactPath, isContainedPath, MANIFEST_PATH, parseManifest, readBundle } from '@alki/bundler';
import {
  isIndexMediaType,
  isValidDigest,
  replaceDirectory,
  throwIfAborted,
  type ArtifactStore,
  type Descriptor,
} from '@alki/oci';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PublishError } from '../errors.js';
import { MODELPACK_ARTIFACT, MODELPACK_CONFIG, MODELPACK_FILEPATH_ANNOTATION } from './media-types.js';
import { QUANT_ANNOTATION } from './modelpack.js';

export interface PullProgress {
  done: number;
  total: number;
  file: string;
}

export interface PullOptions {
  store: ArtifactStore;
  /** A tag or `sha256:` digest in the store. */
  reference: string;
  /** The bundle directory to create. */
  outDir: string;
  /** Replace an existing non-empty outDir (atomically). */
  force?: boolean;
  /**
   * Stage into `<outDir>.alki-partial` (a fixed name) and keep it when the
   * pull fails or the process dies, so the next pull of the same reference
   * fetches only what is missing: whole files already there are kept, and a
   * file cut off mid-way goes on from its last byte.
   */
  resumable?: boolean;
  /**
   * A last check of the staged bundle, after every file matched its digest
   * and before it is renamed to `outDir`: a throw leaves `outDir` untouched.
   * A trust policy check (@alki/signer) or a flush to disk goes here.
   */
  check?: (stagedDir: string) => Promise<void>;
  signal?: AbortSignal;
  onProgress?: (event: PullProgress) => void;
}

export interface PullResult {
  dir: string;
  /** The manifest digest that was pulled: pin deployments to it. */
  digest: string;
  name: string;
  version: string;
  files: Array<{ path: string; digest: string; size: number }>;
  /** Set when the artifact is one quant of a multi-quant bundle; the other quants' files are absent. */
  quant?: string;
  bytes: number;
}

interface ArtifactManifest {
  mediaType?: string;
  artifactType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
  annotations?: Record<string, string>;
}

function invalid(message: string, details: Record<string, unknown> = {}): PublishError {
  return new PublishError('INVALID_MANIFEST', message, { details });
}

// Every layer must name a distinct, contained path: a hostile manifest must
// not write outside the output directory or overwrite one file with another.
function plannedFiles(
  manifest: ArtifactManifest,
  reference: string,
): Array<{ path: string; layer: Descriptor }> {
  if (!Array.isArray(manifest.layers) || manifest.layers.length === 0)
    throw invalid(`${reference} has no layers.`, { reference });
  const seen = new Set<string>();
  return manifest.layers.map((layer) => {
    const file = layer.annotations?.[MODELPACK_FILEPATH_ANNOTATION];
    if (typeof file !== 'string' || !isContainedPath(file) || file.startsWith('./')) {
      throw invalid(
        `A layer of ${reference} has no safe ${MODELPACK_FILEPATH_ANNOTATION} path: ${JSON.stringify(file)}.`,
        { reference, path: file },
      );
    }
    if (seen.has(file)) throw invalid(`Two layers of ${reference} write ${file}.`, { reference, path: file });
    if (!isValidDigest(layer.digest) || !Number.isSafeInteger(layer.size) || layer.size < 0)
      throw invalid(`The layer for ${file} has a bad digest or size.`, { reference, path: file });
    seen.add(file);
    return { path: file, layer };
  });
}

/**
 * Pulls a ModelPack artifact that `publishBundle` pushed and restores the
 * bundle byte for byte: each layer is checked against its descriptor while
 * it downloads, and then against the sha256 metadata/manifest.json gives for
 * its path. It is written to a temp directory beside `outDir` and renamed
 * into place only when everything matches.
 *
 * @example
 * const result = await pullBundle({ store: registryStore(client, 'models/tiny'), reference: 'v1.0.0', outDir: './tiny' });
 */
export async function pullBundle(options: PullOptions): Promise<PullResult> {
  const { store, reference, signal } = options;
  const outDir = path.resolve(options.outDir);
  const existing = await fs.promises.readdir(outDir).catch(() => undefined);
  if (existing && existing.length > 0 && !options.force) {
    throw new PublishError('OUTPUT_EXISTS', `${options.outDir} exists and is not empty.`, {
      hint: 'Name a new directory, or pass --force to replace it.',
      details: { dir: options.outDir },
    });
  }
  const fetched = await store.getManifest(reference, signal);
  if (isIndexMediaType(fetched.mediaType)) {
    throw invalid(`${store.description}:${reference} is an image index, not a bundle artifact.`, {
      reference,
    });
  }
  let manifest: ArtifactManifest;
  try {
    manifest = JSON.parse(fetched.bytes.toString('utf8')) as ArtifactManifest;
  } catch (error) {
    throw new PublishError('INVALID_MANIFEST', `The manifest of ${reference} is not JSON.`, {
      cause: error,
      details: { reference },
    });
  }
  if (manifest.artifactType !== MODELPACK_ARTIFACT && manifest.config?.mediaType !== MODELPACK_CONFIG) {
    throw invalid(
      `${store.description}:${reference} is not a model bundle (artifactType ${manifest.artifactType ?? 'none'}, config ${manifest.config?.mediaType ?? 'none'}).`,
      {
        reference,
        artifactType: manifest.artifactType,
      },
    );
  }
  const planned = plannedFiles(manifest, reference);
  if (!planned.some((entry) => entry.path === MANIFEST_PATH))
    throw invalid(`${reference} has no ${MANIFEST_PATH} layer.`, { reference });
  const quant = manifest.annotations?.[QUANT_ANNOTATION];

  await fs.promises.mkdir(path.dirname(outDir), { recursive: true });
  const temp = options.resumable
    ? stagingPathOf(outDir)
    : `${outDir}.alki-partial-${randomBytes(4).toString('hex')}`;
  await fs.promises.mkdir(temp, { recursive: options.resumable });
  try {
    const total = planned.reduce((sum, entry) => sum + entry.layer.size, 0);
    let done = 0;
    // metadata/manifest.json first: a layer list that disagrees with it fails before the big downloads.
    const ordered = [...planned].sort(
      (a, b) => Number(b.path === MANIFEST_PATH) - Number(a.path === MANIFEST_PATH),
    );
    let expected: Awaited<ReturnType<typeof expectedHashes>> | undefined;
    for (const entry of ordered) {
      throwIfAborted(signal);
      const file = path.join(temp, entry.path);
      await fs.promises.mkdir(path.dirname(file), { recursive: true });
      const before = done;
      await store.downloadBlob(entry.layer, file, {
        signal,
        resume: options.resumable,
        onProgress: (bytes) => options.onProgress?.({ done: before + bytes, total, file: entry.path }),
      });
      done = before + entry.layer.size;
      if (entry.path === MANIFEST_PATH) {
        expected = await expectedHashes(temp, planned, quant);
      } else {
        const want = expected?.expected.get(entry.path);
        if (!want)
          throw invalid(`${reference} carries ${entry.path}, which ${MANIFEST_PATH} does not list.`, {
            reference,
            path: entry.path,
          });
        if (`sha256:${want.sha256}` !== entry.layer.digest || want.size !== entry.layer.size) {
          throw new PublishError(
            'DIGEST_MISMATCH',
            `${entry.path} is ${entry.layer.digest} (${entry.layer.size} bytes) in the registry, but ${MANIFEST_PATH} says sha256:${want.sha256} (${want.size} bytes).`,
            {
              details: {
                path: entry.path,
                descriptor: entry.layer.digest,
                manifest: `sha256:${want.sha256}`,
              },
            },
          );
        }
      }
    }
    if (!expected) throw invalid(`${reference} has no ${MANIFEST_PATH} layer.`, { reference });
    // The whole bundle must parse as one, runtime.json included.
    await readBundle(temp);
    await options.check?.(temp);
    await replaceDirectory(temp, outDir);
    return {
      dir: outDir,
      digest: fetched.digest,
      name: expected.name,
      version: expected.version,
      files: planned.map((entry) => ({
        path: entry.path,
        digest: entry.layer.digest,
        size: entry.layer.size,
      })),
      ...(quant ? { quant } : {}),
      bytes: total,
    };
  } catch (error) {
    if (!options.resumable) await fs.promises.rm(temp, { recursive: true, force: true });
    throw error;
  }
}

/** Where a resumable pull into `outDir` stages its files: beside it, under a fixed name. */
export function stagingPathOf(outDir: string): string {
  return `${path.resolve(outDir)}.alki-partial`;
}

// Every file the bundle manifest lists, with its sha256 and size, read
// through @alki/bundler's own parser (readBundle needs runtime.json too,
// which may not have arrived yet). Each listed file must be a layer, except
// the other quants' weights in a one-quant artifact.
async function expectedHashes(dir: string, planned: Array<{ path: string }>, quant: string | undefined) {
  let json: unknown;
  try {
    json = JSON.parse(await fs.promises.readFile(path.join(dir, MANIFEST_PATH), 'utf8'));
  } catch (error) {
    throw new PublishError('INVALID_BUNDLE', `The pulled ${MANIFEST_PATH} is not JSON.`, { cause: error });
  }
  const manifest = parseManifest(json, MANIFEST_PATH);
  const expected = new Map<string, { sha256: string; size: number }>();
  for (const artifact of manifest.artifacts) {
    if (quant && artifact.quant !== quant) continue;
    expected.set(artifactPath(artifact.uri), { sha256: artifact.sha256, size: artifact.size });
  }
  for (const file of manifest.files) expected.set(file.path, { sha256: file.sha256, size: file.size });
  const present = new Set(planned.map((entry) => entry.path));
  for (const listed of expected.keys()) {
    if (!present.has(listed))
      throw invalid(`The artifact lacks ${listed}, which ${MANIFEST_PATH} lists.`, { path: listed });
  }
  return { expected, name: manifest.name, version: manifest.version };
}
