import { MANIFEST_PATH, parseManifest, readBundle, type BundleManifest } from '@alki/bundler';
import { cachedSnapshotDir, hubCacheDir } from '@alki/hub';
import { locateLlamaCppSource } from '@alki/llama-tools';
import {
  DEFAULT_FULCIO_URL,
  DEFAULT_REKOR_URL,
  hashSourceFiles,
  loadPrivateKey,
  publishedArtifact,
  resolveIdentityToken,
  signBundle,
  SignerError,
  signPublishedBundle,
  type SignBundleOptions,
  type SignerName,
  type SigningMethod,
} from '@alki/signer';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Argv } from 'yargs';
import { withContext, type AlkiCommandBody, type CommandContext, type GlobalOptions } from '../context.js';
import { readPassphrase } from '../passphrase.js';
import { CLI_VERSION } from '../version.js';
import { CliError } from '../errors.js';
import { refuseSpecialFile } from '../flags.js';
import {
  isRegistryTarget,
  openPublishedBundle,
  withRegistryFlags,
  type RegistryFlags,
} from './registry-options.js';

interface SignArgs extends RegistryFlags {
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
    await refuseSpecialFile(argv.key, '--key');
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
async function sourceDigests(manifest: BundleManifest, sourcePath: string | undefined, signal: AbortSignal) {
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

/** What the provenance says beyond the manifest: versions, and the source's digests when they can be had. */
export async function provenanceOptions(
  manifest: BundleManifest,
  sourcePath: string | undefined,
  signal: AbortSignal,
): Promise<Exclude<SignBundleOptions['provenance'], false>> {
  const digests = await sourceDigests(manifest, sourcePath, signal);
  return {
    signerVersion: CLI_VERSION,
    llamaCppVersion: llamaCppVersion(),
    ...(digests ? { sourceDigests: digests } : {}),
    ...(process.env.HF_ENDPOINT ? { hubUrl: process.env.HF_ENDPOINT } : {}),
  };
}

function signerLine(signer: SignerName): string {
  return signer.kind === 'key' ? `key ${signer.keyId}` : `${signer.subject} (${signer.issuer})`;
}

// `alki sign <registry ref>`: the same signature over the published
// manifest.json, attached as referrers; nothing is written locally.
async function signPublished(argv: SignArgs, method: SigningMethod, context: CommandContext): Promise<void> {
  const { out, signal } = context;
  const source = await openPublishedBundle(argv.target, argv, out, signal);
  let provenance: SignBundleOptions['provenance'] = false;
  if (argv.provenance) {
    const artifact = await publishedArtifact(source, signal);
    const bytes = await source.client.fetchBlobBytes(source.repository, artifact.manifestLayer, signal);
    provenance = await provenanceOptions(
      parseManifest(JSON.parse(bytes.toString('utf8')), MANIFEST_PATH),
      argv.source,
      signal,
    );
  }
  const result = await signPublishedBundle(source, { method, provenance, signal });
  out.result(
    {
      reference: result.reference,
      digest: result.digest,
      manifestSha256: result.manifestSha256,
      signer: result.signer,
      referrers: result.referrers,
    },
    () =>
      [
        `signed ${result.reference} (manifest sha256:${result.manifestSha256})`,
        `  signer      ${signerLine(result.signer)}`,
        `  signature   referrer ${result.referrers.signature}`,
        ...(result.referrers.provenance ? [`  provenance  referrer ${result.referrers.provenance}`] : []),
      ].join('\n'),
  );
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
      withRegistryFlags(y).positional('target', {
        type: 'string',
        demandOption: true,
        describe: 'The bundle directory, or a published bundle: host/repo[:tag|@sha256:...]',
      }),
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
      )
      .example(
        '$0 sign registry.example.com/ai/tiny:v1.0.0 --key alki.key',
        'Sign a published bundle: signature and provenance attached as OCI 1.1 referrers',
      ),
  handler: withContext<SignArgs>(async (argv, context) => {
    const { out, signal } = context;
    const { method, describe } = await signingMethodFromFlags(argv);
    out.debug(`signing as ${describe}`);
    if (isRegistryTarget(argv.target)) return signPublished(argv, method, context);
    const provenance = argv.provenance
      ? await provenanceOptions((await readBundle(argv.target)).manifest, argv.source, signal)
      : false;
    const progress = out.progress('sign');
    const result = await signBundle(argv.target, {
      method,
      provenance,
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
          `  signer      ${signerLine(result.signer)}`,
          `  signature   ${result.files.signature}`,
          ...(result.files.provenance ? [`  provenance  ${result.files.provenance}`] : []),
        ].join('\n'),
    );
  }),
};
