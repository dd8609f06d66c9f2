// Test fixtures: a docker-registry with three published bundles (two demo
// bundles that serve, one that llama-server aborts on while loading), a
// channel tag the tests move between them, and agents that run the real
// `alki serve` of this checkout. Only imported by tests.
import { pack, packDemo, readBundle } from '@alki/bundler';
import { RegistryClient, registryStore } from '@alki/oci';
import { publishBundle } from '@alki/registry-publisher';
import { cachedTinyLlamaGguf, rewriteGgufMetadata, startRegistry, type TestRegistry } from '@alki/testkit';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseChannel, type Channel } from '../channel/channel.js';
import { DirectProcessManager } from '../service/direct-process.js';
import { agentPaths } from '../slots/agent-paths.js';

/** The CLI of this checkout (its build), which the agent starts as `alki serve`. */
export const ALKI_BIN = fileURLToPath(new URL('../../../../apps/cli/bin/alki.js', import.meta.url));

export interface PublishedBundle {
  digest: string;
  version: string;
}

export interface TestChannel {
  registry: TestRegistry;
  client: RegistryClient;
  channel: Channel;
  /** The demo bundle (Q8_0). */
  v1: PublishedBundle;
  /** The demo bundle again, quantized to Q4_K_M: another digest, also healthy. */
  v2: PublishedBundle;
  /** A bundle whose model llama-server aborts on while loading (two tokens spelled alike): it never gets healthy. */
  v3: PublishedBundle;
  /** Points the channel tag at a digest, as a publisher promoting a release does. */
  moveTo(digest: string): Promise<void>;
  /** Packs the demo bundle at another quantization and publishes it: one more healthy digest. */
  publishDemo(quant: string): Promise<PublishedBundle>;
  work: string;
  close(): Promise<void>;
}

async function publish(client: RegistryClient, repository: string, dir: string, tag: string) {
  const result = await publishBundle({
    bundleDir: dir,
    store: registryStore(client, repository),
    tag,
    latest: false,
  });
  return { digest: result.digest, version: (await readBundle(dir)).manifest.version };
}

/**
 * Starts docker-registry and publishes v1, v2 and v3 to `models/demo`, with
 * the channel tag `stable` not yet set.
 */
export async function startTestChannel(): Promise<TestChannel> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-agent-channel-'));
  const registry = await startRegistry();
  try {
    const client = new RegistryClient({ registry: registry.host });
    const repository = 'models/demo';
    await packDemo({ out: path.join(work, 'v1'), quantize: ['Q8_0'] });
    await packDemo({ out: path.join(work, 'v2'), quantize: ['Q4_K_M'] });
    const broken = path.join(work, 'broken.gguf');
    await rewriteGgufMetadata((await cachedTinyLlamaGguf()).path, broken, (entries) =>
      entries.map((entry) => {
        if (entry.key !== 'tokenizer.ggml.tokens') return entry;
        const value = entry.value as unknown as { items: unknown[] };
        const items = [...value.items];
        items[10] = items[11];
        return { ...entry, value: { ...value, items } as unknown as typeof entry.value };
      }),
    );
    await pack({ source: broken, out: path.join(work, 'v3'), quantize: ['F32'] });
    const v1 = await publish(client, repository, path.join(work, 'v1'), 'v1');
    const v2 = await publish(client, repository, path.join(work, 'v2'), 'v2');
    const v3 = await publish(client, repository, path.join(work, 'v3'), 'v3');
    return {
      registry,
      client,
      channel: parseChannel(`${registry.host}/${repository}:stable`),
      v1,
      v2,
      v3,
      work,
      async moveTo(digest) {
        const manifest = await client.getManifest(repository, digest);
        await client.putManifest(repository, 'stable', manifest.bytes, manifest.mediaType);
      },
      async publishDemo(quant) {
        const out = path.join(work, `demo-${quant}`);
        await packDemo({ out, quantize: [quant] });
        return publish(client, repository, out, `demo-${quant.toLowerCase()}`);
      },
      async close() {
        await registry.stop();
        fs.rmSync(work, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await registry.stop();
    throw error;
  }
}

/** `alki serve` on the current slot, supervised by the agent, on `port`, with one thread. */
export function serveWithAlki(dir: string, port: number): DirectProcessManager {
  const paths = agentPaths(dir);
  return new DirectProcessManager({
    command: [process.execPath, ALKI_BIN, 'serve'],
    args: ['--engine', 'llama-server', '--threads', '1', '--host', '127.0.0.1'],
    port,
    slotsDir: paths.slots,
    logFile: paths.serverLog,
    stopTimeoutMs: 10_000,
  });
}
