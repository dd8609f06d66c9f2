import {
  bytesBlob,
  OCI_EMPTY,
  OCI_MANIFEST,
  sha256Digest,
  type Descriptor,
  type RegistryClient,
} from '@alki/oci';
import { PublishError } from '../errors.js';

/**
 * The media type of a Sigstore bundle (v0.3), the referrer's artifactType and its layer type: the same
 * value as @alki/signer's SIGSTORE_BUNDLE_MEDIA_TYPE, spelled here so that this package (and the runtime
 * image closure) does not depend on @sigstore.
 */
export const SIGNATURE_ARTIFACT_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';

const EMPTY_CONFIG = Buffer.from('{}');

/** One signature found for a published bundle: the referrer manifest's digest and the Sigstore bundle bytes. */
export interface AttachedSignature {
  referrer: string;
  bundle: Buffer;
}

/**
 * Attaches a Sigstore bundle to a published bundle as an OCI 1.1 referrer:
 * an image manifest whose artifactType is the Sigstore bundle type, whose
 * subject is the published manifest and whose single layer is the bundle
 * JSON. Registries without the referrers API get the `sha256-<hex>` tag index
 * (through `RegistryClient.pushReferrer`).
 *
 * @example
 * await attachSignature(client, 'models/tiny', { mediaType: OCI_MANIFEST, digest, size }, sigstoreJson);
 */
export async function attachSignature(
  client: RegistryClient,
  repository: string,
  subject: Descriptor,
  sigstoreBundle: Buffer,
  signal?: AbortSignal,
): Promise<{ referrer: string; referrersIndex?: { tag: string; digest: string } }> {
  const layerDigest = sha256Digest(sigstoreBundle);
  const configDigest = sha256Digest(EMPTY_CONFIG);
  await client.pushBlob(repository, bytesBlob(EMPTY_CONFIG), configDigest, { signal });
  await client.pushBlob(repository, bytesBlob(sigstoreBundle), layerDigest, { signal });
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: SIGNATURE_ARTIFACT_TYPE,
      config: { mediaType: OCI_EMPTY, digest: configDigest, size: EMPTY_CONFIG.length },
      layers: [{ mediaType: SIGNATURE_ARTIFACT_TYPE, digest: layerDigest, size: sigstoreBundle.length }],
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    }),
  );
  const pushed = await client.pushReferrer(repository, manifest, OCI_MANIFEST, signal);
  return {
    referrer: pushed.digest,
    ...(pushed.referrersIndex ? { referrersIndex: pushed.referrersIndex } : {}),
  };
}

/**
 * The referrers of `digest` in `repository` whose artifactType is a Sigstore
 * bundle: the signature manifests to read with `fetchSignature`.
 *
 * @example
 * for (const entry of await listSignatures(client, 'models/tiny', digest)) console.log(entry.digest);
 */
export async function listSignatures(
  client: RegistryClient,
  repository: string,
  digest: string,
  signal?: AbortSignal,
): Promise<Descriptor[]> {
  return client.referrers(repository, digest, { artifactType: SIGNATURE_ARTIFACT_TYPE, signal });
}

/**
 * The Sigstore bundle one signature referrer holds, read and checked against
 * its digest (a stored blob that was replaced fails with @alki/oci's
 * DIGEST_MISMATCH). A referrer without exactly one Sigstore layer is refused
 * with INVALID_MANIFEST.
 *
 * @example
 * const bundle = await fetchSignature(client, 'models/tiny', referrerDigest);
 */
export async function fetchSignature(
  client: RegistryClient,
  repository: string,
  referrer: string,
  signal?: AbortSignal,
): Promise<Buffer> {
  const manifest = await client.getManifest(repository, referrer, signal);
  let parsed: { layers?: Descriptor[] };
  try {
    parsed = JSON.parse(manifest.bytes.toString('utf8')) as { layers?: Descriptor[] };
  } catch (error) {
    throw new PublishError('INVALID_MANIFEST', `Signature ${referrer} is not JSON.`, {
      cause: error,
      details: { referrer },
    });
  }
  const layers = (Array.isArray(parsed.layers) ? parsed.layers : []).filter(
    (layer) => layer.mediaType === SIGNATURE_ARTIFACT_TYPE,
  );
  if (layers.length !== 1)
    throw new PublishError(
      'INVALID_MANIFEST',
      `Signature ${referrer} has ${layers.length} Sigstore bundle layers; exactly one was expected.`,
      { details: { referrer } },
    );
  return client.fetchBlobBytes(repository, layers[0], signal);
}

/**
 * The Sigstore bundles attached to `digest` in `repository`, each read and
 * checked against its digest (`fetchSignature`); the first that fails stops
 * the read.
 *
 * @example
 * const signatures = await fetchSignatures(client, 'models/tiny', digest);
 */
export async function fetchSignatures(
  client: RegistryClient,
  repository: string,
  digest: string,
  signal?: AbortSignal,
): Promise<AttachedSignature[]> {
  const signatures: AttachedSignature[] = [];
  for (const entry of await listSignatures(client, repository, digest, signal))
    signatures.push({
      referrer: entry.digest,
      bundle: await fetchSignature(client, repository, entry.digest, signal),
    });
  return signatures;
}
