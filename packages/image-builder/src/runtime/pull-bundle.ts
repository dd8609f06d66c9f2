import { connectRegistry, openArtifactStore, parseLayoutReference, parseReference } from '@alki/oci';
import { pullBundle } from '@alki/registry-publisher';
import { pullVerifiedBundle, type TrustPolicy } from '@alki/signer';

/**
 * Pulls the bundle that ALKI_BUNDLE_URI names into `dir` with
 * registry-publisher, which checks every layer against its descriptor and
 * against manifest.json. The URI is `host/repo:tag` or `host/repo@sha256:...`
 * (an optional `oci://` or `docker://` prefix allowed), or `oci:DIR[:tag]`
 * for an OCI image layout mounted into the container, as `alki publish
 * --local` writes it. Credentials come from ALKI_REGISTRY_USERNAME/PASSWORD/
 * TOKEN or a mounted Docker config.
 *
 * With a trust `policy` and a registry URI, it is @alki/signer's
 * pullVerifiedBundle (the one `alki pull --verify` runs): the signatures
 * attached to the bundle in the registry (OCI 1.1 referrers, or the
 * `sha256-<hex>` tag fallback) must pass the policy before anything is
 * downloaded, the trusted ones land in `dir/metadata/signatures/`, and the
 * staged bundle is verified again; `trusted` is then true. An OCI layout has
 * no referrers: it is pulled as it is, for the caller to judge.
 *
 * @example
 * await pullBundleFromUri('registry.local/models/qwen3:v1', '/var/lib/alki/bundle', { policy });
 */
export async function pullBundleFromUri(
  uri: string,
  dir: string,
  options: {
    env?: NodeJS.ProcessEnv;
    signal?: AbortSignal;
    fetch?: typeof fetch;
    policy?: TrustPolicy;
  } = {},
): Promise<{ digest: string; trusted: boolean }> {
  const text = uri.replace(/^(oci|docker):\/\//, '');
  const connect = { env: options.env, ...(options.fetch ? { fetch: options.fetch } : {}) };
  if (options.policy && !parseLayoutReference(text)) {
    const parsed = parseReference(text);
    const pulled = await pullVerifiedBundle({
      client: await connectRegistry(parsed.registry, connect),
      repository: parsed.repository,
      reference: parsed.digest ?? parsed.tag ?? 'latest',
      outDir: dir,
      policy: options.policy,
      signal: options.signal,
    });
    return { digest: pulled.digest, trusted: true };
  }
  const { store, reference } = await openArtifactStore(text, connect);
  const result = await pullBundle({
    store,
    reference: reference ?? 'latest',
    outDir: dir,
    signal: options.signal,
  });
  return { digest: result.digest, trusted: false };
}
