import { isValidDigest } from './digest.js';
import { OciError } from './errors.js';

/** A parsed image reference: `registry/repository[:tag][@digest]`. */
export interface ImageReference {
  /** `host[:port]`, e.g. `ghcr.io` or `127.0.0.1:5000`. */
  registry: string;
  /** `namespace/name`, lower case. */
  repository: string;
  tag?: string;
  digest?: string;
}

// Grammar from the distribution spec (spec.md, "Pulling manifests") and
// distribution/reference/regexp.go: path components, tags and digests.
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]{1,5})?$/;
// The spec caps a repository name at 255 characters in total.
const MAX_REPOSITORY_LENGTH = 255;
const DOCKER_HUB = 'registry-1.docker.io';

function invalid(reference: string, why: string): OciError {
  return new OciError('INVALID_REFERENCE', `Invalid image reference "${reference}": ${why}.`, {
    hint: 'Write it as host[:port]/namespace/name[:tag][@sha256:<64 hex>], in lower case.',
    details: { reference },
  });
}

/** True when `tag` is a valid OCI tag. */
export function isValidTag(tag: string): boolean {
  return TAG.test(tag);
}

/** Throws INVALID_REFERENCE unless `repository` is a valid repository path. */
export function assertRepository(repository: string, reference = repository): void {
  if (repository.length === 0 || repository.length > MAX_REPOSITORY_LENGTH)
    throw invalid(reference, `the repository must be 1 to ${MAX_REPOSITORY_LENGTH} characters`);
  for (const component of repository.split('/')) {
    if (!COMPONENT.test(component))
      throw invalid(
        reference,
        `"${component}" is not a valid path component (lower-case letters, digits and single . _ - separators)`,
      );
  }
}

/**
 * Parses `host[:port]/repo[:tag][@digest]`. The first path component is the
 * registry host when it contains a dot or a colon or is `localhost`, as
 * Docker decides; otherwise the reference means Docker Hub.
 *
 * @example
 * parseReference('127.0.0.1:5000/models/qwen3:v1.0.0');
 * // { registry: '127.0.0.1:5000', repository: 'models/qwen3', tag: 'v1.0.0' }
 */
export function parseReference(reference: string): ImageReference {
  if (reference.length === 0 || reference.length > 4096 || /[\s\0]/.test(reference))
    throw invalid(reference, 'it is empty, too long, or contains spaces');
  let rest = reference;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isValidDigest(digest))
      throw invalid(reference, 'the digest must be sha256: followed by 64 lower-case hex digits');
  }
  const slash = rest.indexOf('/');
  let registry = DOCKER_HUB;
  const first = slash >= 0 ? rest.slice(0, slash) : '';
  if (
    slash >= 0 &&
    (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('['))
  ) {
    registry = first;
    rest = rest.slice(slash + 1);
    if (!HOST.test(registry)) throw invalid(reference, `"${registry}" is not a valid registry host`);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag))
      throw invalid(
        reference,
        `"${tag}" is not a valid tag (letters, digits, _ . -, at most 128, not starting with . or -)`,
      );
  }
  if (registry === DOCKER_HUB && !rest.includes('/')) rest = `library/${rest}`;
  assertRepository(rest, reference);
  return {
    registry,
    repository: rest,
    ...(tag !== undefined ? { tag } : {}),
    ...(digest !== undefined ? { digest } : {}),
  };
}

/** Formats a reference back to `registry/repository[:tag][@digest]`. */
export function formatReference(reference: ImageReference): string {
  const base = `${reference.registry}/${reference.repository}`;
  return `${base}${reference.tag ? `:${reference.tag}` : ''}${reference.digest ? `@${reference.digest}` : ''}`;
}

/** The prefix that names an OCI image layout directory, as skopeo and podman write it: `oci:DIR[:tag]`. */
const LAYOUT_PREFIX = 'oci:';

/** `oci:DIR[:tag|@sha256:<hex>]`, parsed. */
export interface LayoutReference {
  dir: string;
  /** The tag or digest after the directory, if any. */
  reference?: string;
}

/**
 * Parses `oci:DIR`, `oci:DIR:tag` or `oci:DIR@sha256:<hex>` as skopeo's
 * `oci:` transport does: the tag follows the last `:` when what follows it
 * is a valid tag and contains no `/`. Undefined when `text` does not start
 * with `oci:`.
 *
 * @example
 * parseLayoutReference('oci:./out/oci:v1.0.0'); // { dir: './out/oci', reference: 'v1.0.0' }
 */
export function parseLayoutReference(text: string): LayoutReference | undefined {
  if (!text.startsWith(LAYOUT_PREFIX)) return undefined;
  let dir = text.slice(LAYOUT_PREFIX.length);
  let reference: string | undefined;
  const at = dir.lastIndexOf('@sha256:');
  if (at > 0) {
    reference = dir.slice(at + 1);
    dir = dir.slice(0, at);
    if (!isValidDigest(reference))
      throw invalid(text, 'the digest must be sha256: followed by 64 lower-case hex digits');
  } else {
    const colon = dir.lastIndexOf(':');
    if (colon >= 0 && isValidTag(dir.slice(colon + 1))) {
      reference = dir.slice(colon + 1);
      dir = dir.slice(0, colon);
    }
  }
  if (!dir)
    throw new OciError('INVALID_REFERENCE', `"${text}" names no directory.`, {
      hint: 'Write oci:DIR[:tag].',
      details: { reference: text },
    });
  return reference ? { dir, reference } : { dir };
}

/**
 * The tag part of an image name (`latest` when it has none): what an image
 * named `acme/tiny:v1` is called in a layout of its own (`oci:DIR:v1`).
 *
 * @example
 * tagOf('127.0.0.1:5000/acme/tiny'); // 'latest'
 */
export function tagOf(name: string): string {
  const withoutDigest = name.replace(/@sha256:[a-f0-9]{64}$/, '');
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  return colon > slash ? withoutDigest.slice(colon + 1) : 'latest';
}
