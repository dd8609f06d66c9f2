import { MAX_MANIFEST_BYTES, type Descriptor, type FetchedManifest } from '../descriptor.js';
import { isValidDigest, sha256Digest } from '../digest.js';
import { OciError } from '../errors.js';
import { MANIFEST_MEDIA_TYPES } from '../media-types.js';
import { assertRepository, isValidTag } from '../reference.js';
import { repositoryScope } from './auth.js';
import { drain, type RegistryHttp } from './http.js';

/** What the registry said when it stored a manifest. */
export interface PutManifestResult {
  /** The manifest's digest, which the registry confirmed. */
  digest: string;
  /**
   * The registry answered with `OCI-Subject`: it indexes this manifest's
   * `subject` itself (distribution-spec "Pushing Manifests with Subject"),
   * so no referrers tag needs writing.
   */
  subjectIndexed: boolean;
}

function mediaTypeHeader(response: Response): string {
  return (response.headers.get('content-type') ?? '').split(';')[0].trim();
}

function stringField(bytes: Buffer, field: 'mediaType' | 'artifactType'): string {
  try {
    const value = (JSON.parse(bytes.toString('utf8')) as Record<string, unknown> | null)?.[field];
    return typeof value === 'string' ? value : '';
  } catch {
    return '';
  }
}

/** The `mediaType` field of a manifest's JSON, or '' when it has none or is not JSON. */
export function mediaTypeOf(bytes: Buffer): string {
  return stringField(bytes, 'mediaType');
}

/** The `artifactType` field of a manifest's JSON, or '' when it has none or is not JSON. */
export function artifactTypeOf(bytes: Buffer): string {
  return stringField(bytes, 'artifactType');
}

function checkReference(repository: string, reference: string): void {
  assertRepository(repository);
  if (!isValidTag(reference) && !isValidDigest(reference))
    throw new OciError('INVALID_REFERENCE', `"${reference}" is neither a tag nor a sha256 digest.`, {
      details: { reference },
    });
}

/**
 * Fetches a manifest or index by tag or digest, with every manifest media
 * type in Accept (a registry answers a GET only in a type it was asked for).
 * Its bytes are hashed and checked against the digest asked for and against
 * Docker-Content-Digest; over MAX_MANIFEST_BYTES is refused unread.
 */
export async function getManifest(
  http: RegistryHttp,
  repository: string,
  reference: string,
  signal?: AbortSignal,
): Promise<FetchedManifest> {
  checkReference(repository, reference);
  const { response, bytes } = await http.sendAndRead(
    'GET',
    http.repoUrl(repository, `manifests/${reference}`),
    {
      scopes: [repositoryScope(repository, ['pull'])],
      headers: { accept: MANIFEST_MEDIA_TYPES.join(', ') },
      signal,
    },
  );
  if (response.status === 404) {
    await drain(response);
    throw new OciError('NOT_FOUND', `${http.registry}/${repository} has no manifest ${reference}.`, {
      hint: `List the tags with \`alki tags ${http.registry}/${repository}\`.`,
      details: { repository, reference },
    });
  }
  if (!bytes) throw await http.unexpected(response, `send manifest ${reference}`);
  const digest = sha256Digest(bytes);
  const expected = isValidDigest(reference) ? reference : response.headers.get('docker-content-digest');
  if (expected && expected !== digest) {
    throw new OciError(
      'DIGEST_MISMATCH',
      `The manifest ${reference} from ${http.registry}/${repository} hashes to ${digest}, not ${expected}.`,
      { details: { expected, actual: digest } },
    );
  }
  return { bytes, digest, mediaType: mediaTypeHeader(response) || mediaTypeOf(bytes) };
}

/**
 * The descriptor of a tag or digest without its body (HEAD), or undefined
 * when absent. A registry that sends no Docker-Content-Digest is asked for
 * the body, which is then hashed.
 */
export async function headManifest(
  http: RegistryHttp,
  repository: string,
  reference: string,
  signal?: AbortSignal,
): Promise<Descriptor | undefined> {
  checkReference(repository, reference);
  const response = await http.send('HEAD', http.repoUrl(repository, `manifests/${reference}`), {
    scopes: [repositoryScope(repository, ['pull'])],
    headers: { accept: MANIFEST_MEDIA_TYPES.join(', ') },
    signal,
  });
  await drain(response);
  if (response.status === 404) return undefined;
  if (!response.ok) throw await http.unexpected(response, `check manifest ${reference}`);
  const digest = response.headers.get('docker-content-digest');
  if (!digest || !isValidDigest(digest)) {
    const manifest = await getManifest(http, repository, reference, signal);
    return { digest: manifest.digest, mediaType: manifest.mediaType, size: manifest.bytes.length };
  }
  return {
    digest,
    mediaType: mediaTypeHeader(response),
    size: Number(response.headers.get('content-length') ?? 0),
  };
}

/**
 * Stores one manifest or index under a tag or under its own digest, with its
 * exact Content-Type (the registry refuses others), and nothing else: a
 * manifest with a `subject` on a registry without the referrers API also
 * needs its referrers tag updated, which `pushReferrer` does.
 */
export async function putManifest(
  http: RegistryHttp,
  repository: string,
  reference: string,
  bytes: Buffer,
  mediaType: string,
  signal?: AbortSignal,
): Promise<PutManifestResult> {
  checkReference(repository, reference);
  const digest = sha256Digest(bytes);
  if (isValidDigest(reference) && reference !== digest)
    throw new OciError(
      'DIGEST_MISMATCH',
      `The manifest hashes to ${digest}, so it cannot be stored as ${reference}.`,
      {
        category: 'input',
        details: { expected: reference, actual: digest },
      },
    );
  if (bytes.length > MAX_MANIFEST_BYTES)
    throw new OciError(
      'INVALID_MANIFEST',
      `The manifest is ${bytes.length} bytes, over the 4 MiB registries accept.`,
      {
        details: { size: bytes.length },
      },
    );
  const declared = mediaTypeOf(bytes);
  if (declared && declared !== mediaType)
    throw new OciError(
      'INVALID_MANIFEST',
      `The manifest says its mediaType is ${declared}, but it is being stored as ${mediaType}.`,
      {
        details: { declared, mediaType },
      },
    );
  const response = await http.send('PUT', http.repoUrl(repository, `manifests/${reference}`), {
    scopes: [repositoryScope(repository, ['pull', 'push'])],
    headers: { 'content-type': mediaType, 'content-length': String(bytes.length) },
    body: () => bytes,
    signal,
  });
  if (response.status !== 201)
    throw await http.unexpected(response, `store manifest ${reference} in ${repository}`);
  await drain(response);
  const stored = response.headers.get('docker-content-digest');
  if (stored && stored !== digest)
    throw new OciError(
      'DIGEST_MISMATCH',
      `${http.registry} stored the manifest as ${stored}, not ${digest}.`,
      {
        details: { expected: digest, actual: stored },
      },
    );
  return { digest, subjectIndexed: response.headers.has('oci-subject') };
}
