import os from 'node:os';
import path from 'node:path';
import { ALKI_IMAGE_LABEL } from './base/air-gapped-base.js';
import { layoutTags, readImageFromLayout } from '@alki/oci';

/**
 * Alki's local image store: one OCI layout, so base layers are stored once
 * for every image built on them. `$XDG_DATA_HOME/alki/images`, default
 * `~/.local/share/alki/images` (XDG Base Directory spec).
 */
export function imageStoreDir(env: NodeJS.ProcessEnv = process.env): string {
  const dataHome = env.XDG_DATA_HOME || path.join(env.HOME || os.homedir(), '.local', 'share');
  return path.join(dataHome, 'alki', 'images');
}

/** One image as `alki image list` shows it. */
export interface ListedImage {
  /** `store` for Alki's OCI layout, else the engine that holds it. */
  where: 'store' | 'podman' | 'docker';
  name: string;
  digest: string;
  /** Compressed bytes for store images, the engine's figure otherwise. */
  size: number;
  created?: string;
  /** `base`, `bundle` or `runtime`: the io.alki.image label. */
  kind?: string;
  labels: Record<string, string>;
}

/** Lists the tagged images of the store, newest name first; an absent store is an empty list. */
export async function listStoreImages(storeDir: string): Promise<ListedImage[]> {
  let tags: string[];
  try {
    tags = await layoutTags(storeDir);
  } catch {
    return [];
  }
  const images: ListedImage[] = [];
  for (const tag of tags) {
    const image = await readImageFromLayout(storeDir, tag);
    const labels = image.config.config?.Labels ?? {};
    images.push({
      where: 'store',
      name: tag,
      digest: image.manifestDescriptor.digest,
      size: image.manifest.config.size + image.manifest.layers.reduce((sum, l) => sum + l.size, 0),
      created: image.config.created,
      kind: labels[ALKI_IMAGE_LABEL],
      labels,
    });
  }
  return images.sort((a, b) => a.name.localeCompare(b.name));
}
