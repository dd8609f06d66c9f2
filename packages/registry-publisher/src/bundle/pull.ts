import { MANIFEST_PATH, readBundle } from '@alki/bundler';
import { replaceDirectory, throwIfAborted, type ArtifactStore } from '@alki/oci';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PublishError } from '../errors.js';
import { matchLayersToManifest, parsePublishedArtifact } from './published-artifact.js';

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
  const artifact = parsePublishedArtifact(fetched, store.description, reference);
  const planned = artifact.layers;
  const { quant } = artifact;

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
    let bundle: { name: string; version: string } | undefined;
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
      // Every layer is checked against the manifest before the big downloads start.
      if (entry.path === MANIFEST_PATH)
        bundle = matchLayersToManifest(artifact, await fs.promises.readFile(file), reference);
    }
    if (!bundle) throw new PublishError('INVALID_MANIFEST', `${reference} has no ${MANIFEST_PATH} layer.`);
    // The whole bundle must parse as one, runtime.json included.
    await readBundle(temp);
    await options.check?.(temp);
    await replaceDirectory(temp, outDir);
    return {
      dir: outDir,
      digest: fetched.digest,
      name: bundle.name,
      version: bundle.version,
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
