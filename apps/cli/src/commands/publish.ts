import { readBundle } from '@alki/bundler';
import { connectRegistry, layoutStore, parseReference, registryStore } from '@alki/oci';
import { publishBundle, publishRepository, PublishError } from '@alki/registry-publisher';
import type { Argv } from 'yargs';
import { withContext, type AlkiCommand, type GlobalOptions } from '../context.js';
import { connectOptions, withRegistryFlags, type RegistryFlags } from './registry-options.js';

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
}

export const publishCommand: AlkiCommand = {
  command: 'publish <bundle>',
  describe: 'Push a bundle to an OCI registry (or an OCI layout dir) as a CNCF ModelPack artifact',
  builder: (y: Argv<GlobalOptions>) =>
    withRegistryFlags(y)
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
        describe: 'Move a version tag that already points at other content',
      })
      .option('verify', {
        type: 'boolean',
        default: true,
        describe:
          'Re-hash every file against the bundle manifest while uploading (--no-verify: trust the registry digest check)',
      })
      .conflicts('registry', 'local')
      .example(
        '$0 publish ./dist/qwen3 --registry registry.example.com/ai --tag v1.0.0',
        'Push, tag v1.0.0 and latest, print the digest',
      )
      .example(
        '$0 publish ./dist/qwen3 --local ./oci --tag v1.0.0',
        'Write an OCI image layout (skopeo/podman read it as oci:./oci:v1.0.0)',
      ),
  handler: withContext<PublishArgs>(async (argv, { out, signal }) => {
    // A yargs .check() failure reaches main() as an Error, not as a usage failure; say it here.
    if (!argv.registry && argv.local === undefined) {
      throw new PublishError(
        'INVALID_REFERENCE',
        'Name where to publish: --registry host[/namespace] or --local DIR.',
        { category: 'usage' },
      );
    }
    const bundle = await readBundle(argv.bundle);
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
      const client = await connectRegistry(reference.registry, await connectOptions(argv, out, signal));
      await client.ping(signal);
      store = registryStore(client, reference.repository);
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
    out.result({ reference: `${target}@${result.digest}`, ...result }, () =>
      [
        `${target}@${result.digest}`,
        `tags: ${result.tags.join(', ')}`,
        ...result.quants.map((q) => `  ${q.quant}: ${q.tags.join(', ')} -> ${q.digest}`),
        `uploaded ${result.bytesUploaded} of ${result.totalBytes} bytes (${result.blobs.uploaded} new blobs, ${result.blobs.existing} already there)`,
      ].join('\n'),
    );
  }),
};
