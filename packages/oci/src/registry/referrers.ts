import type { Descriptor, ImageIndex } from '../descriptor.js';
import { isValidDigest, sha256Digest } from '../digest.js';
import { OciError } from '../errors.js';
import { OCI_INDEX } from '../media-types.js';
import { assertRepository } from '../reference.js';
import { repositoryScope } from './auth.js';
import { drain, type RegistryHttp } from './http.js';
import { getManifest, mediaTypeOf, putManifest } from './manifests.js';

/** What `pushReferrer` stored: the referrer itself, and the tag-schema index when it had to write one. */
export interface PushReferrerResult {
  digest: string;
  /** Set when the registry has no referrers API and the `sha256-<hex>` index was rewritten to list the referrer. */
  referrersIndex?: { tag: string; digest: string };
}

/** The tag-schema name of a digest's referrers index (distribution-spec "Referrers Tag Schema"): `sha256-<hex>`. */
export function referrersTag(digest: string): string {
  if (!isValidDigest(digest))
    throw new OciError('INVALID_REFERENCE', `"${digest}" is not a sha256 digest.`, { details: { digest } });
  return digest.replace(':', '-');
}

function parseJson(bytes: Buffer, what: string): Record<string, unknown> {
  try {
    const value = JSON.parse(bytes.toString('utf8')) as unknown;
    if (typeof value === 'object' && value !== null && !Array.isArray(value))
      return value as Record<string, unknown>;
  } catch {
    // Reported below, the same as JSON that is not an object.
  }
  throw new OciError('INVALID_MANIFEST', `${what} is not a JSON object.`);
}

function descriptorsOf(index: Record<string, unknown>): Descriptor[] {
  const manifests = Array.isArray(index.manifests) ? (index.manifests as Descriptor[]) : [];
  return manifests.filter(
    (entry) =>
      typeof entry === 'object' &&
      entry !== null &&
      typeof entry.digest === 'string' &&
      isValidDigest(entry.digest),
  );
}

async function readReferrersIndex(
  http: RegistryHttp,
  repository: string,
  tag: string,
  signal?: AbortSignal,
): Promise<Descriptor[]> {
  try {
    const manifest = await getManifest(http, repository, tag, signal);
    return descriptorsOf(parseJson(manifest.bytes, `The referrers index ${tag}`));
  } catch (error) {
    if (error instanceof OciError && error.code === 'NOT_FOUND') return [];
    throw error;
  }
}

/**
 * The manifests that refer to `digest` through their `subject`: the
 * referrers API (GET /v2/<name>/referrers/<digest>) when the registry has
 * it, otherwise the tag-schema index `sha256-<hex>` (distribution 2.8 has no
 * API). Filtered by `artifactType` when given.
 *
 * @example
 * const signatures = await referrers(http, 'models/tiny', digest, { artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json' });
 */
export async function referrers(
  http: RegistryHttp,
  repository: string,
  digest: string,
  options: { artifactType?: string; signal?: AbortSignal } = {},
): Promise<Descriptor[]> {
  assertRepository(repository);
  const tag = referrersTag(digest);
  const query = options.artifactType ? `?artifactType=${encodeURIComponent(options.artifactType)}` : '';
  const { response, bytes } = await http.sendAndRead(
    'GET',
    http.repoUrl(repository, `referrers/${digest}${query}`),
    {
      scopes: [repositoryScope(repository, ['pull'])],
      headers: { accept: OCI_INDEX },
      signal: options.signal,
    },
  );
  let found: Descriptor[];
  if (
    bytes &&
    response.status === 200 &&
    (response.headers.get('content-type') ?? '').startsWith(OCI_INDEX)
  ) {
    found = descriptorsOf(parseJson(bytes, `The referrers of ${digest}`));
  } else if (response.status === 404 || response.status === 200) {
    // 404: no referrers API. 200 but not an index: something else answers
    // that path (a UI, a proxy); the tag schema is the spec's fallback for both.
    await drain(response);
    found = await readReferrersIndex(http, repository, tag, options.signal);
  } else {
    throw await http.unexpected(response, `list referrers of ${digest}`);
  }
  return options.artifactType ? found.filter((entry) => entry.artifactType === options.artifactType) : found;
}

/**
 * Pushes a manifest that names a `subject` (a signature, an SBOM, an
 * attestation) by its digest, and makes it findable by `referrers`: when the
 * registry does not index subjects itself (no OCI-Subject header), the
 * tag-schema index `sha256-<hex>` of the subject is read, the referrer added
 * (replacing an entry with the same digest) and written back. That second
 * write is what a registry without the API needs; it is reported in the
 * result. Two clients adding referrers to one subject at the same moment can
 * lose one entry (the spec's fallback has no lock); the manifests themselves
 * stay stored.
 *
 * @example
 * const { digest } = await pushReferrer(http, 'models/tiny', signatureManifestBytes, OCI_MANIFEST);
 */
export async function pushReferrer(
  http: RegistryHttp,
  repository: string,
  bytes: Buffer,
  mediaType: string,
  signal?: AbortSignal,
): Promise<PushReferrerResult> {
  const manifest = parseJson(bytes, 'The referrer manifest') as {
    subject?: Descriptor;
    artifactType?: string;
    config?: Descriptor;
    annotations?: Record<string, string>;
  };
  const subject = manifest.subject?.digest;
  if (typeof subject !== 'string' || !isValidDigest(subject))
    throw new OciError('INVALID_MANIFEST', 'A referrer needs a subject with a sha256 digest.', {
      details: { subject: manifest.subject },
    });
  const put = await putManifest(http, repository, sha256Digest(bytes), bytes, mediaType, signal);
  if (put.subjectIndexed) return { digest: put.digest };
  const artifactType = manifest.artifactType ?? manifest.config?.mediaType;
  const entry: Descriptor = {
    mediaType: mediaTypeOf(bytes) || mediaType,
    digest: put.digest,
    size: bytes.length,
    ...(artifactType ? { artifactType } : {}),
    ...(manifest.annotations ? { annotations: manifest.annotations } : {}),
  };
  const tag = referrersTag(subject);
  const existing = await readReferrersIndex(http, repository, tag, signal);
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [...existing.filter((other) => other.digest !== put.digest), entry],
  };
  const written = await putManifest(
    http,
    repository,
    tag,
    Buffer.from(JSON.stringify(index)),
    OCI_INDEX,
    signal,
  );
  return { digest: put.digest, referrersIndex: { tag, digest: written.digest } };
}
