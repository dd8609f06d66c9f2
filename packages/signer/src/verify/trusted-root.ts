import { TrustedRoot } from '@sigstore/protobuf-specs';
import { getTrustedRoot } from '@sigstore/tuf';
import { SignerError } from '../errors.js';

/** Gives the Sigstore trusted root that certificates and log entries are checked against. */
export type TrustedRootSource = () => Promise<TrustedRoot>;

/** A trusted root with nothing in it: key-only verification trusts no CA, log or TSA. */
export const EMPTY_TRUSTED_ROOT: TrustedRoot = TrustedRoot.fromJSON({
  mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  tlogs: [],
  certificateAuthorities: [],
  ctlogs: [],
  timestampAuthorities: [],
});

/**
 * Parses a trusted_root.json document (sigstore/protobuf-specs,
 * `sigstore_trustroot.proto`), as `cosign trusted-root create` or the
 * Sigstore TUF repository write it.
 *
 * @example
 * const root = parseTrustedRoot(JSON.parse(readFileSync('trusted_root.json', 'utf8')));
 */
export function parseTrustedRoot(document: unknown): TrustedRoot {
  try {
    const root = TrustedRoot.fromJSON(document);
    if (root.certificateAuthorities.length === 0 && root.tlogs.length === 0) throw new Error('empty');
    return root;
  } catch {
    throw new SignerError(
      'INVALID_POLICY',
      'The trusted root is not a Sigstore trusted_root.json document.',
      {
        hint: 'Use the trusted_root.json of your Sigstore instance (certificate authorities and transparency logs).',
      },
    );
  }
}

/**
 * The public-good Sigstore trusted root, fetched and verified through TUF
 * (@sigstore/tuf) and cached under `cachePath`.
 */
export function publicGoodTrustedRoot(cachePath?: string): TrustedRootSource {
  return async () => {
    try {
      return await getTrustedRoot(cachePath ? { cachePath } : {});
    } catch (error) {
      throw new SignerError(
        'TRUSTED_ROOT_UNAVAILABLE',
        `The public-good Sigstore trusted root could not be fetched: ${(error as Error).message}.`,
        {
          hint: 'Give the policy a "trusted_root" (a trusted_root.json file) for offline verification of keyless signatures.',
        },
      );
    }
  };
}
