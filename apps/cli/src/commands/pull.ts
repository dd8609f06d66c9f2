import { openArtifactStore } from '@alki/oci';
import { pullBundle } from '@alki/registry-publisher';
import type { Argv } from 'yargs';
import { withContext, type AlkiCommandBody, type GlobalOptions } from '../context.js';
import { connectOptions, withRegistryFlags, type RegistryFlags } from './registry-options.js';

interface PullArgs extends RegistryFlags {
  ref: string;
  output: string;
  force: boolean;
}

export const pullCommand: AlkiCommandBody = {
  builder: (y: Argv<GlobalOptions>) =>
    withRegistryFlags(y)
      .positional('ref', {
        type: 'string',
        demandOption: true,
        describe: 'host/repo[:tag|@sha256:...] or oci:DIR[:tag] (default tag: latest)',
      })
      .option('output', {
        alias: 'o',
        type: 'string',
        demandOption: true,
        describe: 'The bundle directory to create',
      })
      .option('force', { type: 'boolean', default: false, describe: 'Replace a non-empty output directory' })
      .example('$0 pull registry.example.com/ai/qwen3:v1.0.0 -o ./qwen3', 'Restore the bundle into ./qwen3')
      .example(
        '$0 pull registry.example.com/ai/qwen3:v1.0.0-q4_k_m -o ./q4',
        'Only the Q4_K_M model of a multi-quant bundle',
      ),
  handler: withContext<PullArgs>(async (argv, { out, signal }) => {
    const { store, reference } = await openArtifactStore(argv.ref, await connectOptions(argv, out, signal));
    const tagOrDigest = reference ?? 'latest';
    out.info(`Pulling ${store.description}:${tagOrDigest} into ${argv.output}...`);
    const progress = out.progress('pull');
    const result = await pullBundle({
      store,
      reference: tagOrDigest,
      outDir: argv.output,
      force: argv.force,
      signal,
      onProgress: (event) => {
        progress.step(event.file);
        progress.update(event.done, event.total);
      },
    });
    progress.done();
    out.result({ reference: `${store.description}@${result.digest}`, ...result }, () =>
      [
        `${result.name} ${result.version}${result.quant ? ` (${result.quant} only)` : ''} -> ${result.dir}`,
        `${store.description}@${result.digest}`,
        `${result.files.length} files, ${result.bytes} bytes, all verified`,
      ].join('\n'),
    );
  }),
};
