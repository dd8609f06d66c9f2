import {
  buildCrossLlamaServer,
  buildLlamaTools,
  crossTarget,
  findLlamaTools,
  locateLlamaCppSource,
} from '@alki/llama-tools';
import { ociArchitecture } from '@alki/oci';
import { CliError } from '../errors.js';
import type { Argv } from 'yargs';
import { withContext, type AlkiCommand, type AlkiCommandBody, type GlobalOptions } from '../context.js';

interface BuildArgs extends GlobalOptions {
  force: boolean;
  jobs?: number;
  platform?: string;
}

const build: AlkiCommand = {
  command: 'build',
  describe:
    'Build llama-quantize, llama-server, llama-bench and llama-tokenize from the llama.cpp source that node-llama-cpp ships',
  builder: (y: Argv<GlobalOptions>) =>
    y
      .option('force', {
        type: 'boolean',
        default: false,
        describe: 'Rebuild even if the cache has a complete build',
      })
      .option('jobs', { alias: 'j', type: 'number', describe: 'Parallel compile jobs (default: CPU count)' })
      .option('platform', {
        type: 'string',
        describe:
          'Cross-compile llama-server alone for another platform (linux/arm64), for `alki image base --platform`',
      })
      .example('$0 tools build', 'Build once into ~/.cache/alki/llama.cpp/<tag> (about 7 minutes on 2 cores)')
      .example(
        '$0 tools build --platform linux/arm64',
        "Cross-compile llama-server for arm64 devices with Debian's g++-aarch64-linux-gnu",
      ),
  handler: withContext<BuildArgs>(async (argv, { out, signal }) => {
    const source = locateLlamaCppSource();
    const cross = argv.platform !== undefined && argv.platform !== `linux/${ociArchitecture()}`;
    if (cross) {
      try {
        crossTarget(argv.platform!);
      } catch (error) {
        throw new CliError('USAGE', (error as Error).message, { details: { flag: 'platform' } });
      }
    }
    out.info(
      cross
        ? `Cross-building llama.cpp ${source.tag} llama-server for ${argv.platform} (cached)...`
        : `Building llama.cpp ${source.tag} tools (cached after the first build)...`,
    );
    const progress = out.progress('build', 100);
    const options = {
      source,
      force: argv.force,
      jobs: argv.jobs,
      signal,
      onProgress: (event: { percent?: number; line: string }) => {
        if (event.percent !== undefined) progress.update(event.percent);
        out.debug(event.line);
      },
    };
    if (cross) {
      const built = await buildCrossLlamaServer(argv.platform!, options);
      progress.done();
      out.result(built, () => `llama-server (${built.platform}) ${built.llamaServer}`);
      return;
    }
    const tools = await buildLlamaTools(options);
    progress.done();
    out.result(tools, () =>
      Object.entries(tools.paths)
        .map(([name, file]) => `${name.padEnd(15)} ${file}`)
        .join('\n'),
    );
  }),
};

const where: AlkiCommand = {
  command: 'path',
  describe: 'Print where the native tools are, or fail if they are not built',
  builder: (y: Argv<GlobalOptions>) =>
    y.example('$0 tools path --json', 'Show the cached tool paths as JSON'),
  handler: withContext<GlobalOptions>((_argv, { out }) => {
    const tools = findLlamaTools();
    if (!tools) {
      out.error('The native llama.cpp tools are not built. Run `alki tools build`.');
      process.exitCode = 1;
      out.result({ found: false }, () => '');
      return;
    }
    out.result({ found: true, ...tools }, () =>
      Object.entries(tools.paths)
        .map(([name, file]) => `${name.padEnd(15)} ${file}`)
        .join('\n'),
    );
  }),
};

export const toolsCommand: AlkiCommandBody = {
  builder: (y: Argv<GlobalOptions>) =>
    y.command([build, where]).demandCommand(1).example('$0 tools build', 'Build the native tools once'),
  handler: () => undefined,
};
