import path from 'node:path';
import { artifactPath, llamaServerArgs, MANIFEST_PATH, modelArtifacts, type Bundle } from '@alki/bundler';
import { ImageBuilderError } from '../errors.js';
import type { TarEntry } from '../tar/tar-header.js';

/** Where an image holds its bundle: models/, metadata/ and deploy/ as the bundle has them. */
export const IMAGE_BUNDLE_DIR = '/opt/alki/bundle';

/**
 * The layer entries of a bundle: manifest.json, every artifact and every
 * file its manifest lists, each checked against the manifest's size and
 * sha256 while it streams into the layer. Files the manifest does not list
 * are left out, so nothing stray (or a symlink to a host secret) gets baked in.
 */
export function bundleLayerEntries(bundle: Bundle, artifacts = bundle.manifest.artifacts): TarEntry[] {
  const root = IMAGE_BUNDLE_DIR.slice(1);
  const entries: TarEntry[] = [];
  const add = (relative: string, size: number, sha256?: string) => {
    entries.push({
      type: 'file',
      path: `${root}/${relative}`,
      mode: 0o644,
      size,
      content: { kind: 'file', path: path.join(bundle.dir, relative), ...(sha256 ? { sha256 } : {}) },
    });
  };
  for (const artifact of artifacts) add(artifactPath(artifact.uri), artifact.size, artifact.sha256);
  for (const file of bundle.manifest.files) add(file.path, file.size, file.sha256);
  return entries;
}

/** The manifest file's entry; its size comes from disk since the manifest cannot hash itself. */
export function manifestEntry(bundle: Bundle, size: number): TarEntry {
  return {
    type: 'file',
    path: `${IMAGE_BUNDLE_DIR.slice(1)}/${MANIFEST_PATH}`,
    mode: 0o644,
    size,
    content: { kind: 'file', path: path.join(bundle.dir, MANIFEST_PATH) },
  };
}

/** Picks the model to serve: the one with `quant`, or runtime.json's model. */
export function chooseArtifact(bundle: Bundle, quant?: string): Bundle['manifest']['artifacts'][number] {
  if (quant) {
    // The vision projector is no quant to serve, whatever its label.
    const models = modelArtifacts(bundle.manifest);
    const found = models.find((a) => a.quant.toLowerCase() === quant.toLowerCase());
    if (!found) {
      throw new ImageBuilderError('INVALID_BUNDLE', `The bundle has no ${quant} model.`, {
        details: { quant, available: models.map((a) => a.quant) },
        hint: `Choose one of: ${models.map((a) => a.quant).join(', ')}.`,
      });
    }
    return found;
  }
  const chosen = bundle.manifest.artifacts.find((a) => a.uri === bundle.runtime.model);
  if (!chosen)
    throw new ImageBuilderError(
      'INVALID_BUNDLE',
      `runtime.json serves ${bundle.runtime.model}, which the manifest does not list.`,
      { category: 'input' },
    );
  return chosen;
}

/** The path inside the image of an artifact uri. */
export function imageModelPath(uri: string): string {
  return path.posix.join(IMAGE_BUNDLE_DIR, artifactPath(uri));
}

/**
 * The llama-server arguments of a bundle's runtime.json for one of its
 * models, with paths resolved by `where`: the model, and the vision
 * projector (runtime.json `mmproj`) when the bundle serves one.
 */
export function bundleServerArgs(
  bundle: Bundle,
  model: Bundle['manifest']['artifacts'][number],
  where: (uri: string) => string,
): string[] {
  const { runtime, manifest } = bundle;
  return llamaServerArgs(
    runtime,
    where(model.uri),
    manifest.slug,
    runtime.mmproj === undefined ? undefined : where(runtime.mmproj),
  );
}
