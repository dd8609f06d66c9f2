import { RegistryError } from '../errors.js';
import { formatReference, isValidTag, parseReference } from '../reference.js';
import { connectRegistry, type ConnectOptions } from '../registry/connect.js';
import type { ArtifactStore } from './artifact-store.js';
import { layoutStore } from './layout-store.js';
import { registryStore } from './registry-store.js';

/** The `oci:` prefix names an OCI image layout directory, as skopeo and podman write it. */
const LAYOUT_PREFIX = 'oci:';

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
  if (text.startsWith(LAYOUT_PREFIX)) {
    let dir = text.slice(LAYOUT_PREFIX.length);
    let reference: string | undefined;
    // `oci:DIR@sha256:<hex>` names a digest and `oci:DIR:tag` a tag, as in skopeo.
    const at = dir.lastIndexOf('@sha256:');
    if (at > 0) {
      reference = dir.slice(at + 1);
      dir = dir.slice(0, at);
    } else {
      const colon = dir.lastIndexOf(':');
      if (colon > 0 && isValidTag(dir.slice(colon + 1))) {
        reference = dir.slice(colon + 1);
        dir = dir.slice(0, colon);
      }
    }
    if (!dir)
      throw new RegistryError('INVALID_REFERENCE', `"${text}" names no directory.`, {
        hint: 'Write oci:DIR[:tag].',
        details: { reference: text },
      });
    return { store: await layoutStore(dir, { create: options.create }), ...(reference ? { reference } : {}) };
  }
  const parsed = parseReference(text);
  const client = await connectRegistry(parsed.registry, options);
  const reference = parsed.digest ?? parsed.tag;
  return { store: registryStore(client, parsed.repository), ...(reference ? { reference } : {}) };
}

/**
 * The repository a bundle is published to: `--registry host/ns` plus the
 * bundle's slug. `--registry` names a place, not an image, so a tag or
 * digest there is refused.
 */
export function publishRepository(registryArg: string, slug: string): string {
  const parsed = parseReference(`${registryArg.replace(/\/+$/, '')}/${slug}`);
  if (parsed.tag || parsed.digest) {
    throw new RegistryError(
      'INVALID_REFERENCE',
      `--registry takes host[/namespace], not a tag or digest: "${registryArg}".`,
      { category: 'usage', hint: 'Pass the tag with --tag.', details: { registry: registryArg } },
    );
  }
  return formatReference(parsed);
}
