import { readBundle, writeTwoStageDeploy } from '@alki/bundler';
import { readdir } from 'node:fs/promises';
import { connectRegistry, layoutStore, parseReference, registryStore } from '@alki/oci';
import { publishBundle, publishRepository } from '@alki/registry-publisher';
import { attachBundleSignatures, publishedArtifact, readSignatureFiles, signBundle } from '@alki/signer';
import type { Argv } from 'yargs';
import { withContext, type AlkiCommandBody, type GlobalOptions } from '../context.js';
import { connectOptions, withRegistryFlags, type RegistryFlags } from './registry-options.js';
import { CliError } from '../errors.js';
import { provenanceOptions, signingMethodFromFlags, signOptions } from './sign.js';

/** Where `--local` without a directory writes: `oci:./oci`, as the examples in the docs name it. */
const DEFAULT_LOCAL_DIR = './oci';

interface PublishArgs extends RegistryFlags {
  bundle: string;
  registry?: string;
  local?: string;
  tag?: string;
  latest: boolean;
  force: boolean;
  verify: boolean;
  deployOut?: string;
  runtimeImage?: string;
  sign: boolean;
  key?: string;
  keyless: boolean;
  identityToken?: string;
  fulcioUrl: string;
  rekorUrl: string;
}

/** True when `dir` exists and holds something. */
async function holdsFiles(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length > 0;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

export const publishCommand: AlkiCommandBody = {
  builder: (y: Argv<GlobalOptions>) =>
    signOptions(withRegistryFlags(y))
      .option('sign', {
        type: 'boolean',
        default: false,
        describe:
          'Sign the bundle (alki sign, with --key or --keyless) after the push; every signature in metadata/signatures/ is attached as an OCI 1.1 referrer either way',
      })
      .positional('bundle', {
        type: 'string',
        demandOption: true,
        describe: 'The bundle directory `alki pack` wrote',
      })
      .option('registry', {
        alias: 'r',
        type: 'string',
        describe: 'host[:port][/namespace]; the bundle goes to <registry>/<bundle slug>',
      })
      .option('local', {
        type: 'string',
        describe: `Write an OCI image layout to this directory instead of pushing (alone: ${DEFAULT_LOCAL_DIR})`,
      })
      .option('tag', {
        alias: 't',
        type: 'string',
        describe: 'Version tag, e.g. v1.0.0 (default: the bundle version)',
      })
      .option('latest', {
        type: 'boolean',
        default: true,
        describe: 'Also move `latest` (use --no-latest to leave it)',
      })
      .option('force', {
        type: 'boolean',
        default: false,
        describe:
          'Move a version tag that already points at other content (and replace a non-empty --deploy-out)',
      })
      .option('verify', {
        type: 'boolean',
        default: true,
        describe:
          'Re-hash every file against the bundle manifest while uploading (--no-verify: trust the registry digest check)',
      })
      .option('deploy-out', {
        type: 'string',
        describe:
          'Also write the two-stage deploy configs (systemd, k3s, Podman quadlet, compose) pinned by the pushed digest into this folder',
      })
      .option('runtime-image', {
        type: 'string',
        describe: 'The alki-runtime image the --deploy-out configs run (alki image runtime --push REF)',
      })
      .conflicts('registry', 'local')
      .example(
        '$0 publish ./dist/qwen3 --registry registry.example.com/ai --tag v1.0.0',
        'Push, tag v1.0.0 and latest, print the digest',
      )
      .example(
        '$0 publish ./dist/qwen3 --registry registry.example.com/ai --deploy-out ./deploy-qwen3 --runtime-image registry.example.com/alki-runtime:1',
        'Push, then write systemd, k3s, quadlet and compose configs that pull this exact digest',
      )
      .example(
        'ALKI_KEY_PASSPHRASE=... $0 publish ./dist/qwen3 --registry registry.example.com/ai --sign --key alki.key',
        'Push, sign with that key, and attach the signature and provenance as referrers',
      )
      .example(
        '$0 publish ./dist/qwen3 --local ./oci --tag v1.0.0',
        'Write an OCI image layout (skopeo/podman read it as oci:./oci:v1.0.0)',
      ),
  handler: withContext<PublishArgs>(async (argv, { out, signal }) => {
    // A yargs .check() failure reaches main() as an Error, not as a usage failure; say it here.
    if (!argv.registry && argv.local === undefined) {
      throw new CliError('USAGE', 'Name where to publish: --registry host[/namespace] or --local DIR.');
    }
    if (argv.deployOut !== undefined) {
      // Checked before the upload, so a bad flag costs no push.
      if (!argv.registry)
        throw new CliError(
          'USAGE',
          '--deploy-out writes configs that pull from a registry; add --registry.',
          {
            hint: 'An OCI layout (--local) is not reachable from the hosts that run them.',
            details: { flag: '--deploy-out' },
          },
        );
      if (!argv.runtimeImage)
        throw new CliError('USAGE', '--deploy-out needs --runtime-image, the image the hosts run.', {
          hint: 'Build and push it with `alki image runtime --push <registry>/alki-runtime:<tag>`.',
          details: { flag: '--deploy-out' },
        });
      if (!argv.force && (await holdsFiles(argv.deployOut)))
        throw new CliError('USAGE', `${argv.deployOut} already holds files.`, {
          hint: 'Choose a new or empty --deploy-out folder, or pass --force to replace it.',
          details: { flag: '--deploy-out' },
        });
    }
    const signing = argv.sign || argv.key !== undefined || argv.keyless;
    if (signing && argv.local !== undefined)
      throw new CliError(
        'USAGE',
        '--sign attaches signatures in a registry (OCI 1.1 referrers); an OCI layout (--local) cannot hold them.',
        {
          hint: 'Sign the directory with `alki sign` and publish with --registry.',
          details: { flag: '--sign' },
        },
      );
    // The key and its passphrase are read before anything is pushed.
    const method = signing ? (await signingMethodFromFlags(argv)).method : undefined;
    const bundle = await readBundle(argv.bundle);
    let client: Awaited<ReturnType<typeof connectRegistry>> | undefined;
    let repository = '';
    let store;
    let target: string;
    if (argv.local !== undefined) {
      // `--local` alone (yargs gives '') writes the documented default.
      const dir = argv.local || DEFAULT_LOCAL_DIR;
      store = await layoutStore(dir, { create: true });
      target = `oci:${dir}`;
    } else {
      target = publishRepository(argv.registry!, bundle.manifest.slug);
      const reference = parseReference(target);
      client = await connectRegistry(reference.registry, await connectOptions(argv, out, signal));
      await client.ping(signal);
      repository = reference.repository;
      store = registryStore(client, repository);
    }
    out.info(`Publishing ${bundle.manifest.name} ${bundle.manifest.version} to ${target}...`);
    const progress = out.progress('publish');
    const result = await publishBundle({
      bundleDir: bundle.dir,
      store,
      tag: argv.tag,
      latest: argv.latest,
      force: argv.force,
      verify: argv.verify,
      signal,
      // Verification runs alongside the upload; the bar follows the upload.
      onProgress: (event) => {
        if (event.phase !== 'upload') return;
        if (event.file) progress.step(event.file);
        progress.update(event.done, event.total);
      },
    });
    progress.done();
    const reference = `${target}@${result.digest}`;
    let signatures: string[] | undefined;
    if (method) {
      // After the push: the files were verified while uploading (unless --no-verify).
      const signed = await signBundle(bundle.dir, {
        method,
        provenance: await provenanceOptions(bundle.manifest, undefined, signal),
        verify: !argv.verify,
        signal,
      });
      out.info(`Signed ${bundle.dir}: ${Object.values(signed.files).join(', ')}`);
    }
    if (client) {
      // Every signature the bundle holds, on the bundle and on each quant's artifact.
      const subjects = [];
      for (const digest of [result.digest, ...result.quants.map((q) => q.digest)])
        subjects.push(
          (await publishedArtifact({ client, repository, reference: digest }, signal)).descriptor,
        );
      signatures = await attachBundleSignatures(client, repository, subjects, bundle.dir, signal);
      if (signatures.length > 0)
        out.info(`Attached ${signatures.length} signature file(s) as referrers of ${reference}`);
    } else if ((await readSignatureFiles(bundle.dir)).length > 0) {
      out.warn(
        `The signatures in ${bundle.dir}/metadata/signatures/ are not in the OCI layout (they travel as registry referrers); publish with --registry to keep them.`,
      );
    }
    let deployFiles: string[] | undefined;
    if (argv.deployOut !== undefined) {
      deployFiles = await writeTwoStageDeploy(
        bundle.dir,
        argv.deployOut,
        { bundleUri: reference, runtimeImage: argv.runtimeImage! },
        { force: argv.force },
      );
      out.info(`Wrote the two-stage deploy configs for ${reference} to ${argv.deployOut}`);
    }
    out.result(
      {
        reference,
        ...result,
        ...(signatures ? { signatures } : {}),
        ...(deployFiles ? { deployFiles } : {}),
      },
      () =>
        [
          reference,
          `tags: ${result.tags.join(', ')}`,
          ...result.quants.map((q) => `  ${q.quant}: ${q.tags.join(', ')} -> ${q.digest}`),
          `uploaded ${result.bytesUploaded} of ${result.totalBytes} bytes (${result.blobs.uploaded} new blobs, ${result.blobs.existing} already there)`,
          ...(signatures ?? []).map((file) => `signature: ${file} (referrer)`),
          ...(deployFiles ? deployFiles.map((file) => `deploy: ${argv.deployOut}/${file}`) : []),
        ].join('\n'),
    );
  }),
};
