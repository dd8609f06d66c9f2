import net from 'node:net';
import { readBundle } from '@alki/bundler';
import {
  buildAirGappedBase,
  buildImage,
  buildMultiPlatformBase,
  buildRuntimeImage,
  DEFAULT_BASE,
  deliverImage,
  detectEngine,
  imageStoreDir,
  listEngineImages,
  listStoreImages,
  prepareBase,
  loadIntoEngine,
  testImage,
  type BasePlatform,
  type Delivered,
  type ContainerEngineName,
  type ListedImage,
} from '@alki/image-builder';
import { crossTarget, findCrossLlamaServer, findLlamaTools, requireLlamaTool } from '@alki/llama-tools';
import { ociArchitecture } from '@alki/oci';
import type { Argv } from 'yargs';
import { withContext, type AlkiCommand, type AlkiCommandBody, type GlobalOptions } from '../context.js';
import type { Output } from '../output.js';
import { CliError } from '../errors.js';

interface OutputArgs extends GlobalOptions {
  tag: string;
  ociLayout?: string;
  dockerArchive?: string;
  push?: string;
  force: boolean;
}

function outputOptions<T>(y: Argv<T>) {
  return y
    .option('oci-layout', {
      type: 'string',
      describe:
        'Also add the image to this OCI image layout directory (created when missing), tagged with its tag part',
    })
    .option('docker-archive', {
      type: 'string',
      describe: 'Also write a docker-archive tar (docker load / podman load)',
    })
    .option('push', { type: 'string', describe: 'Also push to a registry: host[:port]/repo:tag' })
    .option('force', {
      type: 'boolean',
      default: false,
      describe:
        'Move a tag that already names other content in --oci-layout; replace an existing --docker-archive file',
    });
}

function describeDelivery(delivered: Delivered): string[] {
  return [
    delivered.ociLayout ? `OCI layout:     ${delivered.ociLayout}` : '',
    delivered.dockerArchive ? `docker archive: ${delivered.dockerArchive}` : '',
    delivered.pushed ? `pushed:         ${delivered.pushed}` : '',
  ].filter(Boolean);
}

/** `linux/arm64` -> `arm64`; anything but linux/<architecture> is a usage error naming --platform. */
function platformArchitecture(platform: string): string {
  const match = /^linux\/([a-z0-9]+)$/.exec(platform.trim());
  if (!match)
    throw new CliError(
      'USAGE',
      `--platform ${platform} is not linux/<architecture> (linux/amd64, linux/arm64).`,
      {
        details: { flag: 'platform' },
      },
    );
  return match[1];
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

async function deliver(
  argv: OutputArgs,
  store: string,
  tag: string,
  out: Output,
  signal: AbortSignal,
): Promise<Delivered> {
  if (!argv.ociLayout && !argv.dockerArchive && !argv.push) return {};
  const progress = out.progress('export', undefined);
  const delivered = await deliverImage(
    store,
    tag,
    { ociLayout: argv.ociLayout, dockerArchive: argv.dockerArchive, push: argv.push, force: argv.force },
    { signal, onProgress: (done, total) => progress.update(done, total) },
  );
  progress.done();
  return delivered;
}

interface BuildArgs extends OutputArgs {
  bundle: string;
  base: string;
  platform?: string;
  quant?: string;
  compression: 'gzip' | 'none';
}

const build: AlkiCommand = {
  command: 'build <bundle>',
  describe:
    'Build a llama-server image for a bundle, without a Docker daemon, into the local store (and optionally a layout, an archive or a registry)',
  builder: (y: Argv<GlobalOptions>) =>
    outputOptions(
      y
        .positional('bundle', {
          type: 'string',
          demandOption: true,
          describe: 'The bundle directory `alki pack` wrote',
        })
        .option('tag', {
          alias: 't',
          type: 'string',
          describe: 'Image name and tag (default: <slug>:<version>)',
        })
        .option('base', {
          type: 'string',
          default: DEFAULT_BASE,
          describe: 'Base image: a registry reference, a tag in the local store, or oci:DIR[:TAG]',
        })
        .option('quant', {
          type: 'string',
          describe: "Serve (and include) only this quant, instead of runtime.json's model",
        })
        .option('platform', {
          type: 'string',
          describe:
            "Build for this platform (linux/amd64, linux/arm64): the base's image for it when the base is multi-platform (default: this machine's)",
        })
        .option('compression', {
          choices: ['gzip', 'none'] as const,
          default: 'none' as const,
          describe:
            'Compression of the bundle layer: quantized weights barely compress, so none (the default) builds several times faster',
        }),
    )
      .example(
        '$0 image build ./dist/qwen3 --tag acme/qwen3:latest',
        'On the upstream ghcr.io/ggml-org/llama.cpp:server base (online)',
      )
      .example(
        '$0 image build ./dist/qwen3 --base alki/llama-server:v0.4.0 --docker-archive qwen3.tar',
        'Air-gapped, on the base from `alki image base`',
      )
      .example(
        '$0 image build ./dist/qwen3 --base alki/llama-server:v0.4.0 --platform linux/arm64 --push 10.0.0.5:5000/qwen3:arm64',
        'For a Raspberry Pi or Jetson, on a multi-platform base',
      ),
  handler: withContext<BuildArgs>(async (argv, { out, signal }) => {
    const bundle = await readBundle(argv.bundle);
    const store = imageStoreDir();
    const tag = argv.tag ?? `${bundle.manifest.slug}:${bundle.manifest.version}`;
    out.info(`Preparing the base ${argv.base}...`);
    const pulling = out.progress('base', undefined);
    const base = await prepareBase(argv.base, store, {
      signal,
      onProgress: (done, total) => pulling.update(done, total),
    });
    pulling.done();
    out.info(`Building ${tag} from ${bundle.dir}...`);
    const progress = out.progress('layer', undefined);
    const started = Date.now();
    const image = await buildImage({
      bundle,
      layoutDir: store,
      baseTag: base.tag,
      tag,
      quant: argv.quant,
      architecture: argv.platform === undefined ? undefined : platformArchitecture(argv.platform),
      compression: argv.compression,
      signal,
      onProgress: (done, total) => progress.update(done, total),
    });
    progress.done();
    const delivered = await deliver(argv, store, tag, out, signal);
    const seconds = (Date.now() - started) / 1000;
    out.result(
      {
        tag,
        digest: image.digest,
        size: image.size,
        base: base.tag,
        model: image.model,
        store,
        seconds,
        ...delivered,
      },
      () =>
        [
          `Built ${tag}`,
          `digest:         ${image.digest}`,
          `size:           ${mib(image.size)}`,
          `base:           ${base.tag}`,
          `store:          ${store}`,
          ...describeDelivery(delivered),
          `Test it:        alki image test ${tag}`,
        ].join('\n'),
    );
  }),
};

interface BaseArgs extends OutputArgs {
  llamaServer?: string;
  platform?: string[];
}

// One platform of `image base --platform`: this machine's from the native tools build, another
// from `alki tools build --platform`.
function basePlatform(platform: string, llamaServer: string | undefined): BasePlatform {
  const architecture = platformArchitecture(platform);
  if (architecture === ociArchitecture())
    return { llamaServer: llamaServer ?? requireLlamaTool('llama-server') };
  const target = (() => {
    try {
      return crossTarget(platform);
    } catch (error) {
      throw new CliError('USAGE', (error as Error).message, { details: { flag: 'platform' } });
    }
  })();
  const cross = findCrossLlamaServer(platform);
  if (!cross)
    throw new CliError('USAGE', `llama-server for ${platform} is not built.`, {
      hint: `Run \`alki tools build --platform ${platform}\` first (Debian: apt-get install ${target.debianPackages.join(' ')}).`,
      details: { flag: 'platform' },
    });
  return {
    llamaServer: cross.llamaServer,
    compiler: cross.compiler,
    cross: { architecture, sysroot: cross.sysroot, triplet: target.triplet },
  };
}

const base: AlkiCommand = {
  command: 'base',
  describe:
    'Build the air-gapped llama-server base image from the native tools build (llama-server, its shared libraries, a health probe); no registry needed',
  builder: (y: Argv<GlobalOptions>) =>
    outputOptions(
      y
        .option('tag', {
          alias: 't',
          type: 'string',
          describe: 'Image name and tag (default: alki/llama-server:<llama.cpp tag>)',
        })
        .option('llama-server', {
          type: 'string',
          describe:
            "The llama-server binary for this machine's platform (default: the one `alki tools build` made)",
        })
        .option('platform', {
          type: 'string',
          array: true,
          describe:
            "Build for these platforms (linux/amd64, linux/arm64; comma-separated or repeated): more than one makes a multi-platform image index. Default: this machine's",
        }),
    )
      .example('$0 image base', 'Build alki/llama-server:<tag> into the local store, then use it with --base')
      .example(
        '$0 image base --platform linux/amd64,linux/arm64 --push 10.0.0.5:5000/alki/llama-server:v0.4.0',
        'One name for x86-64 and arm64 devices, after `alki tools build --platform linux/arm64`',
      ),
  handler: withContext<BaseArgs>(async (argv, { out, signal }) => {
    const platforms = (argv.platform ?? [])
      .flatMap((p) => p.split(','))
      .map((p) => p.trim())
      .filter(Boolean);
    const chosen = (platforms.length ? platforms : [`linux/${ociArchitecture()}`]).map((p) =>
      basePlatform(p, argv.llamaServer),
    );
    const version = argv.llamaServer ? 'custom' : (findLlamaTools()?.tag ?? 'custom');
    const tag = argv.tag ?? `alki/llama-server:${version}`;
    const store = imageStoreDir();
    const names = platforms.length ? platforms.join(', ') : chosen[0].llamaServer;
    out.info(`Building ${tag} for ${names}...`);
    const multi =
      chosen.length > 1
        ? await buildMultiPlatformBase(chosen, { layoutDir: store, tag, llamaCppVersion: version, signal })
        : undefined;
    const image =
      multi ??
      (await buildAirGappedBase({ ...chosen[0], layoutDir: store, tag, llamaCppVersion: version, signal }));
    const indexOver = multi?.platforms.map((p) => `linux/${p.architecture}`);
    if (!image.healthcheck)
      out.warn(
        'No C compiler was found for every platform, so a base has no static health probe and images built on it have no working HEALTHCHECK.',
      );
    const delivered = await deliver(argv, store, tag, out, signal);
    out.result(
      {
        tag,
        digest: image.manifest.digest,
        size: image.size,
        store,
        healthcheck: image.healthcheck,
        ...(multi ? { platforms: multi.platforms } : {}),
        ...delivered,
      },
      () =>
        [
          `Built ${tag}${indexOver ? ` (an index over ${indexOver.join(', ')})` : ''}`,
          `digest: ${image.manifest.digest}`,
          `size:   ${mib(image.size)}`,
          ...describeDelivery(delivered),
          `Use it: alki image build ./dist/model --base ${tag}`,
        ].join('\n'),
    );
  }),
};

interface RuntimeArgs extends OutputArgs {
  base?: string;
  port: number;
}

const runtime: AlkiCommand = {
  command: 'runtime',
  describe:
    'Build the two-stage alki-runtime image: at start it pulls ALKI_BUNDLE_URI, verifies every digest and serves it',
  builder: (y: Argv<GlobalOptions>) =>
    outputOptions(
      y
        .option('tag', {
          alias: 't',
          type: 'string',
          default: 'alki-runtime:latest',
          describe: 'Image name and tag',
        })
        .option('base', {
          type: 'string',
          describe:
            'llama-server base (default: alki/llama-server:<tag> from `alki image base` when present, else the upstream image)',
        })
        .option('port', {
          type: 'number',
          default: 8080,
          describe: "The port the bundles' runtime.json serve on, for EXPOSE and the healthcheck",
        }),
    ).example(
      '$0 image runtime --push registry.local/alki-runtime:latest',
      'Build and push the runtime; run it with -e ALKI_BUNDLE_URI=registry.local/models/qwen3:v1',
    ),
  handler: withContext<RuntimeArgs>(async (argv, { out, signal }) => {
    const store = imageStoreDir();
    const local = `alki/llama-server:${findLlamaTools()?.tag ?? 'custom'}`;
    const stored = (await listStoreImages(store)).map((i) => i.name);
    const baseSpec = argv.base ?? (stored.includes(local) ? local : DEFAULT_BASE);
    const prepared = await prepareBase(baseSpec, store, { signal });
    out.info(`Building ${argv.tag} on ${prepared.tag}...`);
    const image = await buildRuntimeImage({
      layoutDir: store,
      baseTag: prepared.tag,
      tag: argv.tag,
      port: argv.port,
      signal,
    });
    const delivered = await deliver(argv, store, argv.tag, out, signal);
    out.result(
      { tag: argv.tag, digest: image.digest, size: image.size, base: prepared.tag, store, ...delivered },
      () =>
        [
          `Built ${argv.tag}`,
          `digest: ${image.digest}`,
          `size:   ${mib(image.size)}`,
          ...describeDelivery(delivered),
          `Run it: podman run --init -p 8080:8080 -e ALKI_BUNDLE_URI=<registry>/<repo>:<tag> ${argv.tag}`,
        ].join('\n'),
    );
  }),
};

interface TestArgs extends GlobalOptions {
  image: string;
  engine?: ContainerEngineName;
  port?: number;
  env: string[];
  timeout: number;
  prompt: string;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function parseEnv(pairs: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0)
      throw new CliError('USAGE', `--env ${pair} is not NAME=VALUE.`, { details: { flag: '--env' } });
    env[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return env;
}

const test: AlkiCommand = {
  command: 'test <image>',
  describe:
    'Run an image with podman or docker, wait for /health, send a chat completion, report the reply and latency, and clean up',
  builder: (y: Argv<GlobalOptions>) =>
    y
      .positional('image', {
        type: 'string',
        demandOption: true,
        describe: 'An image in the local store (name:tag), or one the engine knows',
      })
      .option('engine', {
        choices: ['podman', 'docker'] as const,
        describe: 'Container engine (default: podman if it works, else docker)',
      })
      .option('port', { type: 'number', describe: 'Host port for llama-server (default: a free one)' })
      .option('env', {
        alias: 'e',
        type: 'string',
        array: true,
        default: [] as string[],
        describe: 'Container environment, NAME=VALUE (repeatable)',
      })
      .option('timeout', { type: 'number', default: 180, describe: 'Seconds to wait for /health' })
      .option('prompt', { type: 'string', default: 'Say hello.', describe: 'The chat message to send' })
      .example(
        '$0 image test acme/qwen3:latest',
        'Run it, ask one question, report latency, remove the container',
      ),
  handler: withContext<TestArgs>(async (argv, { out, signal }) => {
    const engine = detectEngine(undefined, argv.engine);
    const store = imageStoreDir();
    const inStore = (await listStoreImages(store)).some((i) => i.name === argv.image);
    // A store image is loaded into the engine first (a docker-archive works for podman and docker alike).
    const image = inStore ? await loadIntoEngine(engine, store, argv.image, signal) : argv.image;
    const port = argv.port ?? (await freePort());
    const result = await testImage({
      engine,
      image,
      port,
      env: parseEnv(argv.env),
      healthTimeoutMs: argv.timeout * 1000,
      prompt: argv.prompt,
      signal,
      onStatus: (s) => out.info(s),
    });
    out.result({ ...result, image: argv.image }, () =>
      [
        `${argv.image} works (${engine.name})`,
        `ready after:  ${(result.startupMs / 1000).toFixed(1)} s`,
        `completion:   ${result.completionMs} ms${result.completionTokens ? ` for ${result.completionTokens} tokens` : ''}`,
        `model:        ${result.model}`,
        `reply:        ${JSON.stringify(result.reply)}`,
      ].join('\n'),
    );
  }),
};

const list: AlkiCommand = {
  command: 'list',
  describe:
    'List the images Alki built: its local store of OCI layouts, and podman or docker images with Alki labels',
  builder: (y: Argv<GlobalOptions>) => y.example('$0 image list --json', 'All Alki images as JSON'),
  handler: withContext<GlobalOptions>(async (_argv, { out }) => {
    const images: ListedImage[] = await listStoreImages(imageStoreDir());
    try {
      images.push(...listEngineImages(detectEngine()));
    } catch (error) {
      out.debug(`No container engine images listed: ${(error as Error).message}`);
    }
    out.result(images, () =>
      images.length === 0
        ? 'No images yet. Build one with `alki image build <bundle>`.'
        : images
            .map(
              (i) =>
                `${i.where.padEnd(7)} ${(i.kind ?? '-').padEnd(8)} ${i.name.padEnd(40)} ${i.digest.slice(0, 19)}  ${mib(i.size)}`,
            )
            .join('\n'),
    );
  }),
};

export const imageCommand: AlkiCommandBody = {
  builder: (y: Argv<GlobalOptions>) =>
    y
      .command([build, base, runtime, test, list])
      .demandCommand(1)
      .example('$0 image build ./dist/qwen3 --tag acme/qwen3:latest', 'Build an image from a bundle'),
  handler: () => undefined,
};
