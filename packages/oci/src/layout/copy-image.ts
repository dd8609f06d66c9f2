import type { Descriptor, ImageRecord } from '../descriptor.js';
import { OciError } from '../errors.js';
import { copyBlob } from './blobs.js';
import { findInLayout, initLayout, tagManifest } from './layout.js';

/**
 * Throws TAG_EXISTS when `tag` in the layout already names content other
 * than `digest`, unless `force` (which lets the tag move).
 */
export async function assertTagFree(
  layout: string,
  tag: string,
  digest: string,
  force = false,
): Promise<void> {
  const existing = await findInLayout(layout, tag);
  if (existing && existing.digest !== digest && !force) {
    throw new OciError('TAG_EXISTS', `${layout}:${tag} already names other content (${existing.digest}).`, {
      hint: 'Choose another tag or directory, or pass --force to move the tag.',
      details: { layout, tag, existing: existing.digest, new: digest },
    });
  }
}

/**
 * Copies one image (its manifest, config and layers) from one layout into
 * another, hard-linking blobs where it can, and tags it there. The target is
 * created when missing and keeps every other image it holds: writing into a
 * layout adds a tag, it never replaces the directory. A tag that already
 * names other content is refused (TAG_EXISTS) unless `force`. Blobs are in
 * place before the tag is written, so no reader sees a tag without its blobs.
 *
 * @example
 * const image = await readImageFromLayout(storeDir, 'acme/tiny:v1');
 * await copyImageToLayout(storeDir, image, './tiny-oci', 'v1');
 */
export async function copyImageToLayout(
  fromLayout: string,
  image: ImageRecord,
  toLayout: string,
  tag: string,
  options: { force?: boolean } = {},
): Promise<Descriptor> {
  await initLayout(toLayout);
  await assertTagFree(toLayout, tag, image.manifestDescriptor.digest, options.force);
  for (const descriptor of [image.manifest.config, ...image.manifest.layers, image.manifestDescriptor])
    await copyBlob(fromLayout, toLayout, descriptor);
  await tagManifest(toLayout, image.manifestDescriptor, tag);
  return image.manifestDescriptor;
}
