// Building a container image from a bundle: @alki/image-builder's buildImage
// (daemonless: one deterministic layer streamed from the bundle, checked
// against its sha256s, gzip or uncompressed, into an OCI layout) against
// `buildah bud` of the bundle's own generated Dockerfile (deploy/docker/Dockerfile),
// with FROM replaced by the same air-gapped llama-server base, in one run.
// Prints medians, the ratio, and both image sizes.
//
//   npm run build && npx tsx tools/bench/image.ts [layers of ~50 MiB, default 5] [runs, default 3]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pack, readBundle } from '@alki/bundler';
import { buildAirGappedBase, buildImage, exportOciLayout } from '@alki/image-builder';
import { nativeTools, podmanEnvironment, requireCommand, writeSizedLlamaGguf } from '@alki/testkit';
import { measure, report, runCommand } from './harness.js';

const layers = Number(process.argv[2] ?? 5);
const runs = Number(process.argv[3] ?? 3);
const buildah = requireCommand('buildah', 'the image benchmark');
const skopeo = requireCommand('skopeo', 'the image benchmark');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-bench-image-'));
const podman = podmanEnvironment();
const env = podman.env;

function output(command: string, args: string[]): string {
  const result = spawnSync(command, args, { encoding: 'utf8', env });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout.trim();
}

try {
  const tools = await nativeTools();
  const store = path.join(work, 'store');
  await buildAirGappedBase({
    llamaServer: tools.paths['llama-server'],
    layoutDir: store,
    tag: 'base',
    llamaCppVersion: tools.tag,
  });
  // buildah needs the same base in its containers-storage; importing it is not timed.
  const baseLayout = path.join(work, 'base-oci');
  await exportOciLayout(store, 'base', baseLayout);
  runCommand(
    skopeo,
    ['copy', `oci:${baseLayout}:latest`, 'containers-storage:localhost/alki-bench-base:latest'],
    { env },
  );

  // A real llama model (it loads in llama-server), ~50 MiB of F32 weights per layer.
  const gguf = path.join(work, 'bench.gguf');
  await writeSizedLlamaGguf(gguf, { embedding: 1024, feedForward: 2816, layers });
  const bundleDir = path.join(work, 'bundle');
  await pack({ source: gguf, out: bundleDir, name: 'bench-image', sourceDateEpoch: 1_700_000_000 });
  fs.rmSync(gguf);
  const bundle = await readBundle(bundleDir);
  const modelBytes = bundle.manifest.artifacts.reduce((sum, a) => sum + a.size, 0);

  let gzipSize = 0;
  let plainSize = 0;
  const alkiPlain = await measure(
    'alki buildImage (default)',
    async () => {
      plainSize = (await buildImage({ bundle, layoutDir: store, baseTag: 'base', tag: 'bench:plain' })).size;
    },
    { runs, warmup: 0 },
  );
  const alkiGzip = await measure(
    'alki buildImage (--compression gzip)',
    async () => {
      gzipSize = (
        await buildImage({
          bundle,
          layoutDir: store,
          baseTag: 'base',
          tag: 'bench:gzip',
          compression: 'gzip',
        })
      ).size;
    },
    { runs, warmup: 0 },
  );
  let n = 0;
  let buildahSize = 0;
  const reference = await measure(
    'buildah bud',
    () => {
      const tag = `localhost/alki-bench-bud:${n++}`;
      runCommand(
        buildah,
        [
          'bud',
          '--quiet',
          '--layers=false',
          '--from',
          'localhost/alki-bench-base:latest',
          '-f',
          path.join(bundleDir, 'deploy/docker/Dockerfile'),
          '-t',
          tag,
          bundleDir,
        ],
        { env },
      );
      buildahSize = Number(output('podman', ['image', 'inspect', '--format', '{{.Size}}', tag]));
      runCommand(buildah, ['rmi', tag], { env });
    },
    { runs, warmup: 0 },
  );

  report(
    `Image build from a bundle with a ${(modelBytes / 2 ** 20).toFixed(0)} MiB model, on the same ${tools.tag} air-gapped base`,
    [reference, alkiPlain, alkiGzip],
    'buildah bud',
    {
      'speed-up vs buildah bud (default, uncompressed bundle layer)': `${(reference.medianMs / alkiPlain.medianMs).toFixed(2)}x`,
      'speed-up vs buildah bud (gzip)': `${(reference.medianMs / alkiGzip.medianMs).toFixed(2)}x`,
      'image size, alki default (blobs as stored and pulled)': `${(plainSize / 2 ** 20).toFixed(1)} MiB`,
      'image size, alki gzip': `${(gzipSize / 2 ** 20).toFixed(1)} MiB`,
      'image size, buildah (uncompressed, in containers-storage)': `${(buildahSize / 2 ** 20).toFixed(1)} MiB`,
    },
  );
} finally {
  podman.cleanup();
  fs.rmSync(work, { recursive: true, force: true });
}
