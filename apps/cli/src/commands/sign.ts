import { readBundle } from '@alki/bundler';
import { cachedSnapshotDir, hubCacheDir } from '@alki/hub';
import { locateLlamaCppSource } from '@alki/llama-tools';
import {
  DEFAULT_FULCIO_URL,
  DEFAULT_REKOR_URL,
  hashSourceFiles,
  loadPrivateKey,
  resolveIdentityToken,
  signBundle,
  SignerError,
  type SigningMethod,
} from '@alki/signer';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Argv } from 'yargs';
import { withContext, type AlkiCommandBody, type GlobalOptions } from '../context.js';
import { readPassphrase } from '../passphrase.js';
import { CLI_VERSION } from '../version.js';
import { CliError } from '../errors.js';

interface SignArgs extends GlobalOptions {
  target: string;
  key?: string;
  keyless: boolean;
  identityToken?: string;
  fulcioUrl: string;
  rekorUrl: string;
  provenance: boolean;
  source?: string;
}

/** The signing method the flags ask for; secrets are read here and go nowhere but the signer. */
export async function signingMethodFromFlags(argv: {
  key?: string;
  keyless: boolean;
  identityToken?: string;
  fulcioUrl: string;
  rekorUrl: string;
}): Promise<{ method: SigningMethod; describe: string }> {
  if ((argv.key === undefined) === !argv.keyless) {
    throw new CliError('USAGE', 'Pass exactly one of --key FILE (offline) or --keyless (Fulcio and Rekor).', {
      hint: 'Make a key with `alki keygen`, or use --keyless with an OIDC identity token.',
    });
  }
  if (argv.key !== undefined) {
    let pem: string;
    try {
      pem = await readFile(argv.key, 'utf8');
    } catch (error) {
      throw new SignerError(
        'INVALID_KEY',
        `Cannot read the private key ${argv.key} (${(error as NodeJS.ErrnoException).code ?? 'error'}).`,
        {
          category: 'usage',
          hint: 'Pass the .key file `alki keygen` wrote.',
        },
      );
    }
    const privateKey = loadPrivateKey(pem, await readPassphrase('existing'), argv.key);
    return { method: { kind: 'key', privateKey }, describe: `key ${argv.key}` };
  }
  const { token, origin, claims } = await resolveIdentityToken({
    file: argv.identityToken,
    env: process.env,
  });
  return {
    method: { kind: 'keyless', identityToken: token, fulcioUrl: argv.fulcioUrl, rekorUrl: argv.rekorUrl },
    describe: `${claims.subject} (issuer ${claims.issuer}, token from ${origin})`,
  };
}

// Source digests for the provenance: a path the user names, else the hub
// cache's snapshot of the pinned revision when it is still there.
async function sourceDigests(bundleDir: string, sourcePath: string | undefined, signal: AbortSignal) {
  const { manifest } = await readBundle(bundleDir);
  let local = sourcePath;
  if (local === undefined && manifest.source.kind === 'hub' && manifest.source.revision) {
    const snapshot = cachedSnapshotDir(hubCacheDir(), manifest.source.repo, manifest.source.revision);
    if (existsSync(snapshot)) local = snapshot;
  }
  return local === undefined ? undefined : hashSourceFiles(manifest.source, local, signal);
}

function llamaCppVersion(): string | undefined {
  try {
    return locateLlamaCppSource().tag;
  } catch {
    return undefined;
  }
}

export const signOptions = <T>(y: Argv<T>) =>
  y
    .option('key', {
      type: 'string',
      describe:
        'Sign offline with this private key (alki keygen); passphrase from ALKI_KEY_PASSPHRASE or a prompt',
    })
    .option('keyless', {
      type: 'boolean',
      default: false,
      describe: 'Sign with a Fulcio certificate for your OIDC identity, logged in Rekor',
    })
    .option('identity-token', {
      type: 'string',
      describe: 'With --keyless: a file holding the OIDC token (else SIGSTORE_ID_TOKEN, else the CI)',
    })
    .option('fulcio-url', {
      type: 'string',
      default: DEFAULT_FULCIO_URL,
      describe: 'With --keyless: the Fulcio instance',
    })
    .option('rekor-url', {
      type: 'string',
      default: DEFAULT_REKOR_URL,
      describe: 'With --keyless: the Rekor instance',
    });

export const signCommand: AlkiCommandBody = {
  builder: (y: Argv<GlobalOptions>) =>
    signOptions(
      y.positional('target', { type: 'string', demandOption: true, describe: 'The bundle directory' }),
    )
      .option('provenance', {
        type: 'boolean',
        default: true,
        describe: 'Also sign SLSA provenance (--no-provenance: only the signature)',
      })
      .option('source', {
        type: 'string',
        describe:
          'The local GGUF or folder the bundle was packed from, to pin its files by SHA-256 in the provenance',
      })
      .example('$0 sign ./dist/tiny --key alki.key', 'Offline: no network at all')
      .example(
        'SIGSTORE_ID_TOKEN=$(cat token) $0 sign ./dist/tiny --keyless',
        "Keyless, on Sigstore's public-good Fulcio and Rekor",
      ),
  handler: withContext<SignArgs>(async (argv, { out, signal }) => {
    const { method, describe } = await signingMethodFromFlags(argv);
    out.debug(`signing as ${describe}`);
    const digests = argv.provenance ? await sourceDigests(argv.target, argv.source, signal) : undefined;
    const progress = out.progress('sign');
    const result = await signBundle(argv.target, {
      method,
      provenance: argv.provenance
        ? {
            signerVersion: CLI_VERSION,
            llamaCppVersion: llamaCppVersion(),
            ...(digests ? { sourceDigests: digests } : {}),
            ...(process.env.HF_ENDPOINT ? { hubUrl: process.env.HF_ENDPOINT } : {}),
          }
        : false,
      signal,
      onProgress: (event) => {
        progress.step(event.phase);
        progress.update(event.done, event.total);
      },
    });
    progress.done();
    out.result(
      { dir: result.dir, manifestSha256: result.manifestSha256, signer: result.signer, files: result.files },
      () =>
        [
          `signed ${result.dir} (manifest sha256:${result.manifestSha256})`,
          `  signer      ${result.signer.kind === 'key' ? `key ${result.signer.keyId}` : `${result.signer.subject} (${result.signer.issuer})`}`,
          `  signature   ${result.files.signature}`,
          ...(result.files.provenance ? [`  provenance  ${result.files.provenance}`] : []),
        ].join('\n'),
    );
  }),
};
