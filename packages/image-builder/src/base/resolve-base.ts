import path from 'node:path';
import { isAlkiError } from '@alki/errors';
import {
  copyImageToLayout,
  initLayout,
  layoutTags,
  OciError,
  parseLayoutReference,
  readImageFromLayout,
} from '@alki/oci';
import { ImageBuilderError } from '../errors.js';
import { pullImage, type RegistryAccess } from '../image/registry-transfer.js';

/** The base users get by default: the upstream llama.cpp server image (needs network access to ghcr.io). */
export const DEFAULT_BASE = 'ghcr.io/ggml-org/llama.cpp:server';

/** Where a base comes from, parsed from `--base`. */
export type BaseSpec =
  | { kind: 'layout'; dir: string; tag?: string }
  | { kind: 'store'; tag: string }
  | { kind: 'registry'; reference: string };

/**
 * Parses `--base`: `oci:DIR[:TAG|@DIGEST]` is an OCI layout (read as
 * skopeo's oci: transport reads it), a name tagged in the local store is
 * that image, and anything else is a registry reference.
 */
export function parseBaseSpec(spec: string, storeTags: string[]): BaseSpec {
  const layout = parseLayoutReference(spec);
  if (layout)
    return { kind: 'layout', dir: layout.dir, ...(layout.reference ? { tag: layout.reference } : {}) };
  if (storeTags.includes(spec)) return { kind: 'store', tag: spec };
  return { kind: 'registry', reference: spec };
}

/** The tags of the images in a layout ([] when it does not exist yet). */
async function storeTags(layoutDir: string): Promise<string[]> {
  return layoutTags(layoutDir).catch((error: unknown) => {
    if (error instanceof OciError && error.code === 'NOT_FOUND') return [];
    throw error;
  });
}

/**
 * Copies a base image from an OCI layout into the store (hard links where
 * possible) and returns its tag there: `base/<digest prefix>`. A layout
 * that is missing, damaged or holds no such image is INVALID_BASE, with the
 * layout's own error as the cause.
 */
export async function importLayoutBase(
  storeDir: string,
  spec: Extract<BaseSpec, { kind: 'layout' }>,
): Promise<string> {
  await initLayout(storeDir);
  const dir = path.resolve(spec.dir);
  const image = await readImageFromLayout(dir, spec.tag).catch((error: unknown) => {
    if (error instanceof OciError)
      throw new ImageBuilderError(
        'INVALID_BASE',
        `The base oci:${spec.dir}${spec.tag ? `:${spec.tag}` : ''} cannot be used: ${error.message}`,
        { cause: error, hint: error.hint, category: error.category },
      );
    throw error;
  });
  const tag = `base/${image.manifestDescriptor.digest.slice(7, 19)}`;
  await copyImageToLayout(dir, image, storeDir, tag, { force: true });
  return tag;
}

/**
 * Makes `--base` available in the store and returns its tag there: a store
 * tag as is, an OCI layout imported, a registry reference pulled.
 *
 * @example
 * const baseTag = await prepareBase('oci:./llama-base:latest', imageStoreDir());
 */
export async function prepareBase(
  spec: string,
  storeDir: string,
  options: RegistryAccess & {
    signal?: AbortSignal;
    onProgress?: (bytes: number, total: number) => void;
  } = {},
): Promise<{ tag: string; source: BaseSpec['kind'] }> {
  const parsed = parseBaseSpec(spec, await storeTags(storeDir));
  if (parsed.kind === 'store') return { tag: parsed.tag, source: 'store' };
  if (parsed.kind === 'layout') return { tag: await importLayoutBase(storeDir, parsed), source: 'layout' };
  try {
    await pullImage(parsed.reference, storeDir, options);
  } catch (error) {
    if (error instanceof ImageBuilderError) throw error;
    const message = (error as Error).message;
    throw new ImageBuilderError(
      'INVALID_BASE',
      `The base image ${parsed.reference} could not be pulled: ${message}`,
      {
        category: isAlkiError(error) ? error.category : 'network',
        cause: error,
        hint:
          parsed.reference === DEFAULT_BASE
            ? 'Offline? Build an air-gapped base with `alki image base` and pass --base alki/llama-server:<tag>.'
            : 'Check the reference and your registry credentials, or pass --base oci:DIR[:TAG] for a local layout.',
        details: { base: parsed.reference },
      },
    );
  }
  return { tag: parsed.reference, source: 'registry' };
}
