import { lstat, readFile } from 'node:fs/promises';
import path from 'node:path';
import { BundlerError } from './errors.js';
import { MANIFEST_PATH, RUNTIME_PATH } from './format/layout.js';
import type { Bundle } from './format/types.js';
import { isModelArtifact, projectorArtifact } from './format/artifacts.js';
import { parseManifest, parseRuntime } from './format/validate.js';

/** Bytes a manifest or runtime file may have; a real one is a few KiB, so this only stops hostile input. */
const MAX_METADATA_BYTES = 4 * 1024 * 1024;

async function readJson(dir: string, relative: string): Promise<unknown> {
  const file = path.join(dir, relative);
  let text: string;
  try {
    // lstat: a manifest that is a link could point anywhere, so it is refused, not followed.
    const info = await lstat(file);
    if (info.isSymbolicLink()) {
      throw new BundlerError(
        'PATH_ESCAPE',
        `${relative} is a symbolic link; a bundle's metadata must be its own files.`,
        {
          hint: 'Repack the bundle with `alki pack`; this one may have been tampered with.',
          details: { file: relative },
        },
      );
    }
    if (!info.isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
    if (info.size > MAX_METADATA_BYTES) {
      throw new BundlerError(
        'INVALID_MANIFEST',
        `${relative} is ${info.size} bytes, more than a bundle's metadata can be.`,
        {
          details: { file: relative, size: info.size },
        },
      );
    }
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (error instanceof BundlerError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') {
      throw new BundlerError(
        'NOT_A_BUNDLE',
        `${dir} is not an Alki bundle: ${await whyNotABundle(dir, relative)}.`,
        {
          hint: 'Point at the directory `alki pack` wrote (it holds models/, metadata/ and deploy/).',
          details: { dir, file: relative },
          cause: error,
        },
      );
    }
    throw error;
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new BundlerError(
      'INVALID_MANIFEST',
      `${relative} is not valid JSON: ${(error as Error).message}.`,
      {
        hint: 'Repack the bundle with `alki pack`; the file may be truncated or edited by hand.',
        details: { file: relative },
        cause: error,
      },
    );
  }
}

// Says which of the usual mistakes it is: a typo, a model file given where
// its bundle was meant, or a directory that is not a bundle.
async function whyNotABundle(dir: string, relative: string): Promise<string> {
  try {
    const info = await lstat(dir);
    if (!info.isDirectory())
      return 'it is a file, not a bundle directory (`alki inspect` and `alki validate` take a .gguf)';
  } catch {
    return 'it does not exist';
  }
  return `${relative} is missing`;
}

/**
 * Reads and validates a bundle's metadata/manifest.json and
 * metadata/runtime.json. It does not hash the models: use verifyBundle for
 * that. No artifact uri can point outside the bundle.
 *
 * @example
 * const { dir, manifest, runtime } = await readBundle('./dist/tiny');
 * const model = path.join(dir, manifest.artifacts[0].uri);
 */
export async function readBundle(dir: string): Promise<Bundle> {
  const root = path.resolve(dir);
  const manifest = parseManifest(await readJson(root, MANIFEST_PATH), MANIFEST_PATH);
  const runtime = parseRuntime(await readJson(root, RUNTIME_PATH), RUNTIME_PATH);
  const served = manifest.artifacts.find((artifact) => artifact.uri === runtime.model);
  if (!served || !isModelArtifact(served)) {
    throw new BundlerError(
      'INVALID_MANIFEST',
      `${RUNTIME_PATH} serves ${runtime.model}, which the manifest does not list${served ? ' as a model' : ''}.`,
      {
        hint: 'Repack the bundle with `alki pack`.',
        details: { file: RUNTIME_PATH, model: runtime.model },
      },
    );
  }
  if (runtime.mmproj !== undefined && runtime.mmproj !== projectorArtifact(manifest)?.uri) {
    throw new BundlerError(
      'INVALID_MANIFEST',
      `${RUNTIME_PATH} loads the vision projector ${runtime.mmproj}, which the manifest does not list as one (role mmproj).`,
      {
        hint: 'Repack the bundle with `alki pack`.',
        details: { file: RUNTIME_PATH, mmproj: runtime.mmproj },
      },
    );
  }
  return { dir: root, manifest, runtime };
}
