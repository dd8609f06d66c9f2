import { beforeAll, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import path from 'node:path';
import { artifactPath, readBundle, verifyBundle, type Bundle } from '@alki/bundler';
import { packFixtureBundle, tempDir } from '../__fixtures__/fixture-bundle.js';
import { runRuntime, runtimeSettings, type RuntimeDeps } from './runtime-main.js';

// The runtime's decisions with the real bundler (readBundle, verifyBundle) and
// a pull that copies a packed bundle, as a registry pull would restore it.
// The registry itself is covered by runtime-image.test.ts.
let source: Bundle;

beforeAll(async () => {
  source = await packFixtureBundle(tempDir(), 'runtime-logic');
}, 120_000);

function harness() {
  const pulls: string[] = [];
  const servers: Array<{ server: string; args: string[] }> = [];
  const lines: string[] = [];
  const deps: RuntimeDeps = {
    pullBundle: async (reference, dir) => {
      pulls.push(reference);
      await fs.promises.cp(source.dir, dir, { recursive: true });
    },
    readBundle,
    verifyBundle,
    runServer: (server, args) => {
      servers.push({ server, args });
      return Promise.resolve(0);
    },
    log: (line) => lines.push(line),
  };
  return { deps, pulls, servers, lines };
}

describe('runRuntime', () => {
  it('pulls on first start, then starts llama-server with the runtime.json arguments and the extra ones', async () => {
    const dir = path.join(tempDir(), 'bundle');
    const { deps, pulls, servers } = harness();
    const settings = runtimeSettings(
      { ALKI_BUNDLE_URI: 'r.local/m:v1', ALKI_BUNDLE_DIR: dir, ALKI_LLAMA_SERVER: '/bin/llama-server' },
      ['--port', '9000'],
    );
    expect(await runRuntime(settings, deps)).toBe(0);
    expect(pulls).toEqual(['r.local/m:v1']);
    expect(servers[0].server).toBe('/bin/llama-server');
    expect(servers[0].args.slice(0, 2)).toEqual([
      '--model',
      path.join(dir, artifactPath(source.manifest.artifacts[0].uri)),
    ]);
    expect(servers[0].args[servers[0].args.indexOf('--alias') + 1]).toBe(source.manifest.slug);
    expect(servers[0].args.slice(-2)).toEqual(['--port', '9000']);
    expect(fs.readdirSync(path.dirname(dir)).sort()).toEqual(['bundle', 'bundle.source.json']);
  });

  it('skips the download when the bundle from the same URI is intact, and pulls again when a file was damaged', async () => {
    const dir = path.join(tempDir(), 'bundle');
    const { deps, pulls, lines } = harness();
    const settings = runtimeSettings({ ALKI_BUNDLE_URI: 'r.local/m:v1', ALKI_BUNDLE_DIR: dir });
    await runRuntime(settings, deps);
    await runRuntime(settings, deps);
    expect(pulls).toHaveLength(1);
    expect(lines.join('\n')).toMatch(/present and intact/);
    fs.appendFileSync(path.join(dir, 'metadata/runtime.json'), ' ');
    await runRuntime(settings, deps);
    expect(pulls).toHaveLength(2);
    expect(lines.join('\n')).toMatch(/damaged \(metadata\/runtime\.json/);
    expect((await verifyBundle(dir)).ok).toBe(true);
  });

  it('pulls again when ALKI_BUNDLE_URI names another bundle than the one on disk', async () => {
    const dir = path.join(tempDir(), 'bundle');
    const { deps, pulls } = harness();
    await runRuntime(runtimeSettings({ ALKI_BUNDLE_URI: 'r.local/m:v1', ALKI_BUNDLE_DIR: dir }), deps);
    await runRuntime(runtimeSettings({ ALKI_BUNDLE_URI: 'r.local/m:v2', ALKI_BUNDLE_DIR: dir }), deps);
    expect(pulls).toEqual(['r.local/m:v1', 'r.local/m:v2']);
  });

  it('keeps the old bundle and starts nothing when a pull fails', async () => {
    const dir = path.join(tempDir(), 'bundle');
    const { deps, servers } = harness();
    await runRuntime(runtimeSettings({ ALKI_BUNDLE_URI: 'r.local/m:v1', ALKI_BUNDLE_DIR: dir }), deps);
    const failing: RuntimeDeps = {
      ...deps,
      pullBundle: async () => Promise.reject(new Error('Blob sha256:abc does not match its digest')),
    };
    await expect(
      runRuntime(runtimeSettings({ ALKI_BUNDLE_URI: 'r.local/m:v2', ALKI_BUNDLE_DIR: dir }), failing),
    ).rejects.toThrow(/does not match its digest/);
    expect(servers).toHaveLength(1);
    expect((await verifyBundle(dir)).ok).toBe(true);
    expect(fs.readdirSync(path.dirname(dir)).sort()).toEqual(['bundle', 'bundle.source.json']);
  });

  it('refuses to start without ALKI_BUNDLE_URI', () => {
    expect(() => runtimeSettings({})).toThrow(/ALKI_BUNDLE_URI is not set/);
  });
});
