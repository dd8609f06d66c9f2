import { parseLayoutReference, parseReference } from '../reference.js';
import { connectRegistry, type ConnectOptions } from '../registry/connect.js';
import type { ArtifactStore } from './artifact-store.js';
import { layoutStore } from './layout-store.js';
import { registryStore } from './registry-store.js';

export interface OpenedStore {
  store: ArtifactStore;
  /** The tag or digest the reference named, if any. */
  reference?: string;
}

/**
 * Opens what a user typed: `host/repo[:tag|@digest]` (a registry repository)
 * or `oci:DIR[:tag]` (an OCI image layout).
 *
 * @example
 * const { store, reference } = await openArtifactStore('127.0.0.1:5000/models/tiny:v1.0.0');
 */
export async function openArtifactStore(
  text: string,
  options: ConnectOptions & { create?: boolean } = {},
): Promise<OpenedStore> {
  const layout = parseLayoutReference(text);
  if (layout) {
    const store = await layoutStore(layout.dir, { create: options.create });
    return { store, ...(layout.reference ? { reference: layout.reference } : {}) };
  }
  const parsed = parseReference(text);
  const client = await connectRegistry(parsed.registry, options);
  const reference = parsed.digest ?? parsed.tag;
  return { store: registryStore(client, parsed.repository), ...(reference ? { reference } : {}) };
}
