import path from 'node:path';
import { artifactPath, MANIFEST_PATH, type Bundle } from '@alki/bundler';
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

/** Picks the artifact to serve: the one with `quant`, or runtime.json's model. */
export function chooseArtifact(bundle: Bundle, quant?: string): Bundle['manifest']['artifacts'][number] {
  if (quant) {
    const found = bundle.manifest.artifacts.find((a) => a.quant.toLowerCase() === quant.toLowerCase());
    if (!found) {
      throw new ImageBuilderError('INVALID_BUNDLE', `The bundle has no ${quant} model.`, {
        details: { quant, available: bundle.manifest.artifacts.map((a) => a.quant) },
        hint: `Choose one of: ${bundle.manifest.artifacts.map((a) => a.quant).join(', ')}.`,
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
