import path from 'node:path';
import { isAlkiError } from '@alki/errors';
import { ImageBuilderError } from '../errors.js';
import { copyBlob, initOciLayout, readImageFromLayout, readIndex, tagManifest } from '../oci/layout.js';
import { pullImage, type RegistryAccess } from '../oci/registry-transfer.js';
import { REF_NAME_ANNOTATION } from '../oci/types.js';

/** The base users get by default: the upstream llama.cpp server image (needs network access to ghcr.io). */
export const DEFAULT_BASE = 'ghcr.io/ggml-org/llama.cpp:server';

/** Where a base comes from, parsed from `--base`. */
export type BaseSpec =
  | { kind: 'layout'; dir: string; tag?: string }
  | { kind: 'store'; tag: string }
  | { kind: 'registry'; reference: string };

/**
 * Parses `--base`: `oci:DIR[:TAG]` is an OCI layout, a name tagged in the
 * local store is that image, and anything else is a registry reference.
 */
export function parseBaseSpec(spec: string, storeTags: string[]): BaseSpec {
  if (spec.startsWith('oci:')) {
    const rest = spec.slice(4);
    // The tag follows the last ':' after the last '/', as in skopeo's oci: transport.
    const colon = rest.lastIndexOf(':');
    if (colon > rest.lastIndexOf('/') && colon > 0)
      return { kind: 'layout', dir: rest.slice(0, colon), tag: rest.slice(colon + 1) };
    return { kind: 'layout', dir: rest };
  }
  if (storeTags.includes(spec)) return { kind: 'store', tag: spec };
  return { kind: 'registry', reference: spec };
}

/** The tags of the images in a layout ([] when it does not exist yet). */
export async function layoutTags(layoutDir: string): Promise<string[]> {
  try {
    return (await readIndex(layoutDir)).manifests
      .map((d) => d.annotations?.[REF_NAME_ANNOTATION])
      .filter((t): t is string => Boolean(t));
  } catch {
    return [];
  }
}

/**
 * Copies a base image from an OCI layout into the store (hard links where
 * possible) and returns its tag there: `base/<digest prefix>`.
 */
export async function importLayoutBase(
  storeDir: string,
  spec: Extract<BaseSpec, { kind: 'layout' }>,
): Promise<string> {
  await initOciLayout(storeDir);
  const dir = path.resolve(spec.dir);
  const image = await readImageFromLayout(dir, spec.tag).catch((error: unknown) => {
    if (error instanceof ImageBuilderError)
      throw new ImageBuilderError(
        'INVALID_BASE',
        `The base ${dir}${spec.tag ? `:${spec.tag}` : ''} cannot be used: ${error.message}`,
        { cause: error, hint: error.hint },
      );
    throw error;
  });
  for (const descriptor of [image.manifestDescriptor, image.manifest.config, ...image.manifest.layers])
    await copyBlob(dir, storeDir, descriptor);
  const tag = `base/${image.manifestDescriptor.digest.slice(7, 19)}`;
  await tagManifest(storeDir, image.manifestDescriptor, tag);
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
  const parsed = parseBaseSpec(spec, await layoutTags(storeDir));
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
