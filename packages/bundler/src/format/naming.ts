import { BundlerError } from '../errors.js';

/** Longest bundle name accepted; the manifest schema says the same. */
const MAX_NAME_LENGTH = 256;
/** DNS-1123 labels (Kubernetes object names, and safe file names) stop at 63 characters. */
const MAX_SLUG_LENGTH = 63;

/**
 * Checks a bundle name: 1 to 256 characters, no control characters (a
 * newline in a name would only ever be an attack on the deploy configs).
 */
export function checkBundleName(name: string): string {
  if (name.length === 0 || name.length > MAX_NAME_LENGTH || /[\u0000-\u001f\u007f]/.test(name)) {
    throw new BundlerError(
      'INVALID_INPUT',
      `The bundle name ${JSON.stringify(name)} is not usable: it needs 1 to ${MAX_NAME_LENGTH} printable characters.`,
      {
        hint: 'Pass --name with a plain name such as "qwen3-0.6b-instruct".',
        details: { name },
      },
    );
  }
  return name;
}

/**
 * The file- and Kubernetes-safe form of a name (DNS-1123 label): lower case,
 * runs of anything but letters and digits become one `-`.
 *
 * @example
 * slugify('Qwen3 0.6B Instruct'); // 'qwen3-0-6b-instruct'
 */
export function slugify(name: string): string {
  const slug = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, MAX_SLUG_LENGTH)
    .replace(/-+$/, '');
  if (!slug) {
    throw new BundlerError(
      'INVALID_INPUT',
      `The bundle name ${JSON.stringify(name)} has no letters or digits to name files with.`,
      {
        hint: 'Pass --name with at least one ASCII letter or digit.',
        details: { name },
      },
    );
  }
  return slug;
}
