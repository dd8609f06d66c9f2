import { openArtifactStore } from '@alki/oci';
import { pullBundle, type PullResult } from '@alki/registry-publisher';
import { describeSigner, pullVerifiedBundle, type PublishedTrustReport } from '@alki/signer';
import type { Argv } from 'yargs';
import { withContext, type AlkiCommandBody, type GlobalOptions } from '../context.js';
import { CliError } from '../errors.js';
import {
  connectOptions,
  openPublishedBundle,
  withRegistryFlags,
  type RegistryFlags,
} from './registry-options.js';
import { trustOptions, trustPolicyFromFlags, wantsTrust, type TrustFlags } from './trust-options.js';

interface PullArgs extends RegistryFlags, TrustFlags {
  ref: string;
  output: string;
  force: boolean;
  verify: boolean;
}

export const pullCommand: AlkiCommandBody = {
  builder: (y: Argv<GlobalOptions>) =>
    trustOptions(withRegistryFlags(y))
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
      .option('verify', {
        type: 'boolean',
        default: false,
        describe:
          'Check the attached signatures under --key, --certificate-identity or --policy before writing anything (implied by those flags)',
      })
      .example('$0 pull registry.example.com/ai/qwen3:v1.0.0 -o ./qwen3', 'Restore the bundle into ./qwen3')
      .example(
        '$0 pull registry.example.com/ai/qwen3:v1.0.0-q4_k_m -o ./q4',
        'Only the Q4_K_M model of a multi-quant bundle',
      )
      .example(
        '$0 pull registry.example.com/ai/qwen3:v1.0.0 -o ./qwen3 --verify --key alki.pub',
        'Only if a signature by that key is attached; the signatures land in metadata/signatures/',
      ),
  handler: withContext<PullArgs>(async (argv, { out, signal }) => {
    const verify = argv.verify || wantsTrust(argv);
    if (argv.verify && !wantsTrust(argv))
      throw new CliError(
        'USAGE',
        '--verify needs whom to trust: --key, --certificate-identity or --policy.',
        {
          details: { flag: '--verify' },
        },
      );
    let result: PullResult;
    let description: string;
    let trust: PublishedTrustReport | undefined;
    const progress = out.progress('pull');
    const onProgress = (event: { file: string; done: number; total: number }) => {
      progress.step(event.file);
      progress.update(event.done, event.total);
    };
    if (verify) {
      // The policy is read (and a bad one refused) before the registry is asked anything.
      const policy = await trustPolicyFromFlags(argv);
      const source = await openPublishedBundle(argv.ref, argv, out, signal);
      description = `${source.client.registry}/${source.repository}`;
      out.info(`Verifying and pulling ${description}:${source.reference} into ${argv.output}...`);
      const pulled = await pullVerifiedBundle({
        ...source,
        outDir: argv.output,
        force: argv.force,
        policy,
        signal,
        onProgress,
      });
      ({ trust, ...result } = pulled);
    } else {
      const { store, reference } = await openArtifactStore(argv.ref, await connectOptions(argv, out, signal));
      const tagOrDigest = reference ?? 'latest';
      description = store.description;
      out.info(`Pulling ${description}:${tagOrDigest} into ${argv.output}...`);
      result = await pullBundle({
        store,
        reference: tagOrDigest,
        outDir: argv.output,
        force: argv.force,
        signal,
        onProgress,
      });
    }
    progress.done();
    out.result(
      {
        reference: `${description}@${result.digest}`,
        ...result,
        ...(trust
          ? { signers: trust.signers, signatures: trust.signatures.map(({ path, kind }) => ({ path, kind })) }
          : {}),
      },
      () =>
        [
          `${result.name} ${result.version}${result.quant ? ` (${result.quant} only)` : ''} -> ${result.dir}`,
          `${description}@${result.digest}`,
          `${result.files.length} files, ${result.bytes} bytes, all verified`,
          ...(trust?.signers.map((signer) => `signed by ${describeSigner(signer)}`) ?? []),
        ].join('\n'),
    );
  }),
};
