import type { RegistryClient } from '../registry/client.js';
import type { ArtifactStore } from './artifact-store.js';

/** One repository of a registry as an ArtifactStore. */
export function registryStore(client: RegistryClient, repository: string): ArtifactStore {
  return {
    description: `${client.registry}/${repository}`,
    pushBlob: (source, digest, options = {}) => client.pushBlob(repository, source, digest, options),
    resolve: (reference, signal) => client.headManifest(repository, reference, signal),
    putManifest: async (tag, bytes, mediaType, signal) => {
      await client.putManifest(repository, tag, bytes, mediaType, signal);
    },
    getManifest: (reference, signal) => client.getManifest(repository, reference, signal),
    downloadBlob: (descriptor, file, options) => client.downloadBlob(repository, descriptor, file, options),
    listTags: (signal) => client.listTags(repository, signal),
  };
}
