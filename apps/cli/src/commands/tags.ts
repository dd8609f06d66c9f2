import { openArtifactStore } from '@alki/oci';
import type { Argv } from 'yargs';
import { withContext, type AlkiCommandBody, type GlobalOptions } from '../context.js';
import { connectOptions, withRegistryFlags, type RegistryFlags } from './registry-options.js';

interface TagsArgs extends RegistryFlags {
  repo: string;
}

export const tagsCommand: AlkiCommandBody = {
  builder: (y: Argv<GlobalOptions>) =>
    withRegistryFlags(y)
      .positional('repo', { type: 'string', demandOption: true, describe: 'host/repo, or oci:DIR' })
      .example('$0 tags registry.example.com/ai/qwen3', 'v1.0.0, latest, ... with their sha256 digests'),
  handler: withContext<TagsArgs>(async (argv, { out, signal }) => {
    const { store } = await openArtifactStore(argv.repo, await connectOptions(argv, out, signal));
    const names = (await store.listTags(signal)).sort();
    const tags: Array<{ tag: string; digest: string | null }> = [];
    for (const tag of names) tags.push({ tag, digest: (await store.resolve(tag, signal))?.digest ?? null });
    out.result({ repository: store.description, tags }, () =>
      tags.length
        ? tags.map((t) => `${t.tag.padEnd(24)} ${t.digest ?? '(missing)'}`).join('\n')
        : `${store.description} has no tags.`,
    );
  }),
};
