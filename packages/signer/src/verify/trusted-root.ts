import { TrustedRoot } from '@sigstore/protobuf-specs';
import { getTrustedRoot } from '@sigstore/tuf';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
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

/** What `tufCachePath` reads of the machine; a seam for tests. */
export interface TufCacheIo {
  platform: NodeJS.Platform;
  env: Record<string, string | undefined>;
  homedir: string;
  tmpdir: string;
  uid: number;
  fs: Pick<typeof fs, 'mkdirSync' | 'accessSync' | 'lstatSync'>;
}

const nodeIo = (): TufCacheIo => ({
  platform: process.platform,
  env: process.env,
  homedir: os.homedir(),
  tmpdir: os.tmpdir(),
  uid: process.getuid?.() ?? 0,
  fs,
});

/**
 * Where the TUF client caches the public-good root. @sigstore/tuf's own
 * default is `$XDG_DATA_HOME/sigstore-js` (`~/.local/share/sigstore-js`),
 * which a hardened deployment cannot write: Alki's systemd units
 * (DynamicUser, ProtectSystem=strict), the k3s Deployment and the podman and
 * compose files (read-only root file systems) leave only /tmp writable. When
 * the default cannot be made writable, the cache goes to a directory of this
 * user's own under the temp directory (private per service under systemd's
 * PrivateTmp and per pod), created mode 0700; one that is not a directory,
 * not this user's or open to others is refused, since whoever can write the
 * cached root.json decides what the client trusts. On macOS and Windows, and
 * where the default works, this is @sigstore/tuf's default.
 *
 * @example
 * const root = await getTrustedRoot({ cachePath: tufCachePath() });
 */
export function tufCachePath(io: TufCacheIo = nodeIo()): string | undefined {
  if (io.platform === 'darwin' || io.platform === 'win32') return undefined;
  const preferred = path.join(
    io.env.XDG_DATA_HOME || path.join(io.homedir, '.local', 'share'),
    'sigstore-js',
  );
  try {
    io.fs.mkdirSync(preferred, { recursive: true });
    io.fs.accessSync(preferred, fs.constants.W_OK);
    return preferred;
  } catch {
    // Read-only, or not a directory: the fallback below.
  }
  const fallback = path.join(io.tmpdir, `alki-sigstore-tuf-${io.uid}`);
  try {
    io.fs.mkdirSync(fallback, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw cacheUnusable(preferred, fallback, error);
  }
  const stat = io.fs.lstatSync(fallback);
  if (!stat.isDirectory() || stat.uid !== io.uid || (stat.mode & 0o077) !== 0)
    throw cacheUnusable(
      preferred,
      fallback,
      new Error(
        !stat.isDirectory()
          ? 'it is not a directory'
          : stat.uid !== io.uid
            ? `it belongs to user ${stat.uid}`
            : `others may use it (mode ${(stat.mode & 0o777).toString(8)})`,
      ),
    );
  return fallback;
}

function cacheUnusable(preferred: string, fallback: string, cause: unknown): SignerError {
  return new SignerError(
    'TRUSTED_ROOT_UNAVAILABLE',
    `No place to cache the public-good Sigstore trusted root: ${preferred} cannot be written, and ${fallback} cannot be used: ${(cause as Error).message}.`,
    {
      cause,
      hint: 'Set XDG_DATA_HOME to a writable directory, or give the policy a "trusted_root" (a trusted_root.json file).',
      details: { preferred, fallback },
    },
  );
}

/**
 * The public-good Sigstore trusted root, fetched and verified through TUF
 * (@sigstore/tuf) and cached under `cachePath` (default: `tufCachePath()`).
 */
export function publicGoodTrustedRoot(cachePath?: string): TrustedRootSource {
  return async () => {
    const where = cachePath ?? tufCachePath();
    try {
      return await getTrustedRoot(where ? { cachePath: where } : {});
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
