// Pushing and pulling a ~1 GB bundle to a local docker-registry: @alki/registry-publisher
// (publishBundle / pullBundle, which also hash-check every file against the
// bundle manifest) against skopeo copying the same ModelPack artifact as an
// OCI layout into the registry and back out. Each run uses fresh repositories,
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
import { layoutStore, publishBundle, pullBundle, RegistryClient, registryStore } from '@alki/registry-publisher';
import { requireCommand, startRegistry } from '@alki/testkit';
import { measure, report, runCommand } from './harness.js';

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

const registry = await startRegistry();
try {
  const gguf = path.join(work, 'large.gguf');
  await writeLargeGguf(gguf);
  const bundle = path.join(work, 'bundle');
  await pack({ source: gguf, out: bundle, sourceDateEpoch: 1_700_000_000 });
  fs.rmSync(gguf);
  const layout = path.join(work, 'layout');
  const local = await publishBundle({ bundleDir: bundle, store: await layoutStore(layout, { create: true }), tag: 'v1' });
  const bytes = local.totalBytes;
  const client = new RegistryClient({ registry: registry.host });
  let n = 0;
  let m = 0;
  const pulls: string[] = [];
  const fresh = () => path.join(work, `pull-${pulls.push('') + Math.random().toString(36).slice(2)}`);

  const alkiPush = await measure('alki publish', () => publishBundle({ bundleDir: bundle, store: registryStore(client, `bench/alki-${n++}`), tag: 'v1' }), { runs, warmup: 0 });
  const alkiPull = await measure(
    'alki pull',
    async () => {
      const out = fresh();
      await pullBundle({ store: registryStore(client, 'bench/alki-0'), reference: 'v1', outDir: out });
      fs.rmSync(out, { recursive: true });
    },
    { runs, warmup: 0 },
  );
  const skopeoPush = await measure('skopeo copy oci: -> docker://', () => runCommand(skopeo, ['copy', '--quiet', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${registry.host}/bench/skopeo-${m++}:v1`]), { runs, warmup: 0 });
  const skopeoPull = await measure(
    'skopeo copy docker:// -> oci:',
    () => {
      const out = fresh();
      runCommand(skopeo, ['copy', '--quiet', '--src-tls-verify=false', `docker://${registry.host}/bench/skopeo-0:v1`, `oci:${out}:v1`]);
      fs.rmSync(out, { recursive: true });
    },
    { runs, warmup: 0 },
  );
  let again = { bytesUploaded: -1 };
  const rePush = await measure('alki publish (unchanged)', async () => {
    again = await publishBundle({ bundleDir: bundle, store: registryStore(client, 'bench/alki-0'), tag: 'v1' });
  }, { runs, warmup: 0 });

  const mbps = (ms: number) => `${(bytes / 1e6 / (ms / 1000)).toFixed(0)} MB/s`;
  report(`push ${(bytes / 1e6).toFixed(0)} MB bundle`, [skopeoPush, alkiPush], skopeoPush.label, {
    'skopeo throughput': mbps(skopeoPush.medianMs),
    'alki throughput (includes hashing the bundle against its manifest)': mbps(alkiPush.medianMs),
  });
  report(`pull ${(bytes / 1e6).toFixed(0)} MB bundle`, [skopeoPull, alkiPull], skopeoPull.label, {
    'skopeo throughput': mbps(skopeoPull.medianMs),
    'alki throughput (includes the manifest.json cross-check)': mbps(alkiPull.medianMs),
  });
  report('re-publish of an unchanged bundle', [rePush], rePush.label, { 'blob bytes uploaded': again.bytesUploaded });
  if (again.bytesUploaded !== 0) throw new Error(`re-publish uploaded ${again.bytesUploaded} bytes, expected 0`);
} finally {
  await registry.stop();
  fs.rmSync(work, { recursive: true, force: true });
}
