// Pushing and pulling a ~1 GB bundle to a local docker-registry: @alki/registry-publisher
// (publishBundle / pullBundle, which also hash-check every file against the
// bundle manifest) against skopeo copying the same ModelPack artifact as an
// OCI layout into the registry and back out. Each run uses fresh registries,
// so every blob is really sent. Also checks that re-publishing an unchanged
// bundle uploads 0 blob bytes.
//
//   npm run build && npx tsx tools/bench/registry.ts [MiB, default 1024] [runs, default 3]
import { randomFillSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pack } from '@alki/bundler';
import { createGgufWriter, GgmlType, GgufValueType, ggufEntry } from '@alki/gguf-reader';
import { layoutStore, RegistryClient, registryStore } from '@alki/oci';
import { publishBundle, pullBundle } from '@alki/registry-publisher';
import { requireCommand, startRegistry } from '@alki/testkit';
import { median, report, runCommand, type Measurement } from './harness.js';

const mib = Number(process.argv[2] ?? 1024);
const runs = Number(process.argv[3] ?? 3);
const skopeo = requireCommand('skopeo', 'the registry benchmark');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-bench-registry-'));

// A llama-shaped GGUF whose bulk is one tensor of random floats, so pack accepts it.
async function writeLargeGguf(file: string): Promise<void> {
  const floats = (mib * 1024 * 1024) / 4;
  const writer = await createGgufWriter(file, {
    metadata: [
      ggufEntry.string('general.architecture', 'llama'),
      ggufEntry.string('general.name', 'bench-large'),
      ggufEntry.uint32('general.file_type', 0),
      ggufEntry.uint32('llama.context_length', 256),
      ggufEntry.uint32('llama.embedding_length', 8),
      ggufEntry.uint32('llama.block_count', 1),
      ggufEntry.uint32('llama.feed_forward_length', 16),
      ggufEntry.uint32('llama.attention.head_count', 2),
      ggufEntry.float32('llama.attention.layer_norm_rms_epsilon', 1e-5),
      ggufEntry.string('tokenizer.ggml.model', 'gpt2'),
      ggufEntry.array('tokenizer.ggml.tokens', GgufValueType.STRING, ['a', 'b', 'c']),
    ],
    tensors: [{ name: 'bench.weight', type: GgmlType.F32, dims: [floats] }],
  });
  const chunk = Buffer.alloc(1 << 20);
  for (let i = 0; i < mib; i++) await writer.writeTensorData(randomFillSync(chunk));
  await writer.finish();
}

const registries: Array<{ stop(): Promise<void> }> = [];
async function freshRegistry() {
  const started = await startRegistry();
  registries.push(started);
  return started;
}

try {
  const gguf = path.join(work, 'large.gguf');
  await writeLargeGguf(gguf);
  const bundle = path.join(work, 'bundle');
  await pack({ source: gguf, out: bundle, sourceDateEpoch: 1_700_000_000 });
  fs.rmSync(gguf);
  const layout = path.join(work, 'layout');
  const local = await publishBundle({
    bundleDir: bundle,
    store: await layoutStore(layout, { create: true }),
    tag: 'v1',
  });
  const bytes = local.totalBytes;

  // Each run pushes into registries that have never seen the blobs: skopeo
  // remembers where it pushed blobs before (its blob-info cache) and would
  // otherwise mount them instead of uploading. alki and skopeo alternate, so
  // both see the same machine load.
  const samples = {
    alkiPush: [] as number[],
    alkiPushNoVerify: [] as number[],
    skopeoPush: [] as number[],
    alkiPull: [] as number[],
    skopeoPull: [] as number[],
    rePush: [] as number[],
  };
  const time = async (into: number[], fn: () => unknown) => {
    const start = process.hrtime.bigint();
    await fn();
    into.push(Number(process.hrtime.bigint() - start) / 1e6);
  };
  let reUploaded = -1;
  for (let run = 0; run < runs; run++) {
    const forAlki = await freshRegistry();
    const forSkopeo = await freshRegistry();
    const forNoVerify = await freshRegistry();
    const client = new RegistryClient({ registry: forAlki.host });
    const store = registryStore(client, 'bench/model');
    await time(samples.alkiPush, () => publishBundle({ bundleDir: bundle, store, tag: 'v1' }));
    await time(samples.alkiPushNoVerify, () =>
      publishBundle({
        bundleDir: bundle,
        store: registryStore(new RegistryClient({ registry: forNoVerify.host }), 'bench/model'),
        tag: 'v1',
        verify: false,
      }),
    );
    await time(samples.skopeoPush, () =>
      runCommand(skopeo, [
        'copy',
        '--quiet',
        '--dest-tls-verify=false',
        `oci:${layout}:v1`,
        `docker://${forSkopeo.host}/bench/model:v1`,
      ]),
    );
    const alkiOut = path.join(work, `alki-pull-${run}`);
    await time(samples.alkiPull, () => pullBundle({ store, reference: 'v1', outDir: alkiOut }));
    fs.rmSync(alkiOut, { recursive: true });
    const skopeoOut = path.join(work, `skopeo-pull-${run}`);
    await time(samples.skopeoPull, () =>
      runCommand(skopeo, [
        'copy',
        '--quiet',
        '--src-tls-verify=false',
        `docker://${forSkopeo.host}/bench/model:v1`,
        `oci:${skopeoOut}:v1`,
      ]),
    );
    fs.rmSync(skopeoOut, { recursive: true });
    await time(samples.rePush, async () => {
      reUploaded = (await publishBundle({ bundleDir: bundle, store, tag: 'v1' })).bytesUploaded;
    });
    for (const registry of registries.splice(0)) await registry.stop();
  }

  const row = (label: string, samplesMs: number[]): Measurement => ({
    label,
    samplesMs,
    medianMs: median(samplesMs),
  });
  const mbps = (ms: number) => `${(bytes / 1e6 / (ms / 1000)).toFixed(0)} MB/s`;
  const alkiPush = row('alki publish', samples.alkiPush);
  const alkiPushNoVerify = row('alki publish --no-verify', samples.alkiPushNoVerify);
  const skopeoPush = row('skopeo copy oci: -> docker://', samples.skopeoPush);
  const alkiPull = row('alki pull', samples.alkiPull);
  const skopeoPull = row('skopeo copy docker:// -> oci:', samples.skopeoPull);
  report(
    `push ${(bytes / 1e6).toFixed(0)} MB bundle`,
    [skopeoPush, alkiPush, alkiPushNoVerify],
    skopeoPush.label,
    {
      'skopeo throughput': mbps(skopeoPush.medianMs),
      'alki throughput (re-hashes every file against the bundle manifest while uploading)': mbps(
        alkiPush.medianMs,
      ),
      'alki --no-verify throughput (the registry checks digests)': mbps(alkiPushNoVerify.medianMs),
      'throughput ratio alki/skopeo': (skopeoPush.medianMs / alkiPush.medianMs).toFixed(2),
      'throughput ratio alki --no-verify/skopeo': (skopeoPush.medianMs / alkiPushNoVerify.medianMs).toFixed(
        2,
      ),
    },
  );
  report(`pull ${(bytes / 1e6).toFixed(0)} MB bundle`, [skopeoPull, alkiPull], skopeoPull.label, {
    'skopeo throughput': mbps(skopeoPull.medianMs),
    'alki throughput (includes the manifest.json cross-check)': mbps(alkiPull.medianMs),
    'throughput ratio alki/skopeo': (skopeoPull.medianMs / alkiPull.medianMs).toFixed(2),
  });
  report(
    're-publish of an unchanged bundle',
    [row('alki publish (unchanged)', samples.rePush)],
    'alki publish (unchanged)',
    { 'blob bytes uploaded': reUploaded },
  );
  if (reUploaded !== 0) throw new Error(`re-publish uploaded ${reUploaded} bytes, expected 0`);
} finally {
  for (const registry of registries) await registry.stop();
  fs.rmSync(work, { recursive: true, force: true });
}
