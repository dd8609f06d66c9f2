import { openArtifactStore } from '@alki/oci';
import { pullBundle } from '@alki/registry-publisher';

/**
 * Pulls the bundle that ALKI_BUNDLE_URI names into `dir` with
 * registry-publisher, which checks every layer against its descriptor and
 * against manifest.json. The URI is `host/repo:tag` or `host/repo@sha256:...`
 * (an optional `oci://` or `docker://` prefix allowed), or `oci:DIR[:tag]`
 * for an OCI image layout mounted into the container, as `alki publish
 * --local` writes it. Credentials come from ALKI_REGISTRY_USERNAME/PASSWORD/
 * TOKEN or a mounted Docker config.
 *
 * @example
 * await pullBundleFromUri('registry.local/models/qwen3:v1', '/var/lib/alki/bundle');
 */
export async function pullBundleFromUri(
  uri: string,
  dir: string,
  options: { env?: NodeJS.ProcessEnv; signal?: AbortSignal; fetch?: typeof fetch } = {},
): Promise<{ digest: string }> {
  const { store, reference } = await openArtifactStore(uri.replace(/^(oci|docker):\/\//, ''), {
    env: options.env,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const result = await pullBundle({
    store,
    reference: reference ?? 'latest',
    outDir: dir,
    signal: options.signal,
  });
  return { digest: result.digest };
}
