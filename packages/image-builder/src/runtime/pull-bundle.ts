import {
  findCredentials,
  parseReference,
  pullBundle,
  RegistryClient,
  registryStore,
} from '@alki/registry-publisher';

/**
 * Pulls the bundle that ALKI_BUNDLE_URI names (`host/repo:tag` or
 * `host/repo@sha256:...`, an optional `oci://` or `docker://` prefix allowed)
 * into `dir` with registry-publisher, which checks every layer against its
 * descriptor and against manifest.json. Credentials come from
 * ALKI_REGISTRY_USERNAME/PASSWORD/TOKEN or a mounted Docker config.
 *
 * @example
 * await pullBundleFromUri('registry.local/models/qwen3:v1', '/var/lib/alki/bundle');
 */
export async function pullBundleFromUri(
  uri: string,
  dir: string,
  options: { env?: NodeJS.ProcessEnv; signal?: AbortSignal; fetch?: typeof fetch } = {},
): Promise<{ digest: string }> {
  const reference = parseReference(uri.replace(/^(oci|docker):\/\//, ''));
  const credentials = await findCredentials(reference.registry, { env: options.env });
  const client = new RegistryClient({
    registry: reference.registry,
    ...(credentials ? { credentials } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const result = await pullBundle({
    store: registryStore(client, reference.repository),
    reference: reference.digest ?? reference.tag ?? 'latest',
    outDir: dir,
    signal: options.signal,
  });
  return { digest: result.digest };
}
