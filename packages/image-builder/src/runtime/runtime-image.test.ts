import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import type { Bundle } from '@alki/bundler';
import { readImageFromLayout, RegistryClient, registryStore } from '@alki/oci';
import { attachSignature, publishBundle } from '@alki/registry-publisher';
import { signBundle } from '@alki/signer';
import {
  freePort,
  nativeTools,
  podmanEnvironment,
  startRegistry,
  type PodmanEnvironment,
  type TestRegistry,
} from '@alki/testkit';
import { packFixtureBundle, tempDir } from '../__fixtures__/fixture-bundle.js';
import { buildAirGappedBase } from '../base/air-gapped-base.js';
import { programRunner } from '../base/shared-libraries.js';
import { loadIntoEngine } from '../run/engine.js';
import { buildRuntimeImage } from './runtime-image.js';

// The two-stage runtime for real: the alki-runtime image pulls a bundle that
// registry-publisher pushed to a local docker-registry, serves it, skips the
// download on restart, and refuses to start on a tampered blob. Under
// ALKI_TRUST_POLICY it refuses the unsigned bundle and serves the same bundle
// published with a signature attached (an OCI referrer).
const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

let work: string;
let store: string;
let bundle: Bundle;
let podman: PodmanEnvironment;
let registry: TestRegistry;
let image: string;
const containers: string[] = [];
const builderKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const builderPem = builderKey.publicKey.export({ type: 'spki', format: 'pem' }) as string;

function podmanRun(args: string[]) {
  return spawnSync('podman', args, { encoding: 'utf8', env: podman.env, maxBuffer: 64 << 20 });
}

function logs(name: string): string {
  const result = podmanRun(['logs', name]);
  return `${result.stdout}${result.stderr}`;
}

// The image ships the compiled entrypoint and the dist/ of every @alki
// package it imports, so they must be current. tsc -b --dry says whether a
// build would compile anything; file times cannot, since tsc -b does not
// rewrite an output whose content would not change (and a rebase touches
// every source it replays).
function assertBuilt(): void {
  const tsc = path.resolve(packageDir, '../../node_modules/typescript/bin/tsc');
  const dry = spawnSync(
    process.execPath,
    [tsc, '-b', '--dry', path.join(packageDir, 'tsconfig.build.json')],
    {
      encoding: 'utf8',
    },
  );
  const stale = [...dry.stdout.matchAll(/A non-dry build would build project '([^']+)'/g)].map((m) =>
    path.relative(path.resolve(packageDir, '../..'), path.dirname(m[1])),
  );
  if (dry.status !== 0 || stale.length)
    throw new Error(
      `The runtime image ships compiled code, and ${stale.join(', ') || 'the build'} is not up to date. Run \`npm run build\` at the repository root first.`,
    );
}

async function waitForHealth(port: number, name: string, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await fetch(`http://127.0.0.1:${port}/health`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    const running = podmanRun(['inspect', '--format', '{{.State.Running}}', name]).stdout.trim();
    if (running === 'false' || Date.now() > deadline)
      throw new Error(`${name} did not become healthy:\n${logs(name)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function waitForExit(name: string, timeoutMs = 120_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = podmanRun(['inspect', '--format', '{{.State.Running}} {{.State.ExitCode}}', name])
      .stdout.trim()
      .split(' ');
    if (state[0] === 'false') return Number(state[1]);
    if (Date.now() > deadline) throw new Error(`${name} did not stop:\n${logs(name)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function startRuntime(name: string, uri: string, port: number, options: string[] = []) {
  containers.push(name);
  // Extra arguments go to llama-server: a free port, since tests share the host network.
  const result = podmanRun([
    'run',
    '-d',
    '--init',
    '--name',
    name,
    '-e',
    `ALKI_BUNDLE_URI=${uri}`,
    ...options,
    image,
    '--port',
    String(port),
  ]);
  if (result.status !== 0) throw new Error(`podman run failed: ${result.stderr}`);
}

beforeAll(async () => {
  assertBuilt();
  const tools = await nativeTools();
  podman = podmanEnvironment();
  registry = await startRegistry();
  work = tempDir();
  store = path.join(work, 'store');
  bundle = await packFixtureBundle(work, 'runtime-chat');
  await buildAirGappedBase({
    llamaServer: tools.paths['llama-server'],
    layoutDir: store,
    tag: 'alki/llama-server:test',
    llamaCppVersion: tools.tag,
  });
  await buildRuntimeImage({
    layoutDir: store,
    baseTag: 'alki/llama-server:test',
    tag: 'alki-runtime:test',
    packageDir,
  });
  image = await loadIntoEngine(
    { name: 'podman', run: programRunner(podman.env) },
    store,
    'alki-runtime:test',
  );
  const client = new RegistryClient({ registry: registry.host });
  await publishBundle({
    bundleDir: bundle.dir,
    store: registryStore(client, 'models/runtime-chat'),
    tag: 'v1',
  });
  // The same bundle signed with a key, published elsewhere with its signature attached as a referrer.
  const signed = path.join(work, 'signed');
  fs.cpSync(bundle.dir, signed, { recursive: true });
  const signature = await signBundle(signed, {
    method: { kind: 'key', privateKey: builderKey.privateKey },
    provenance: false,
  });
  const published = await publishBundle({
    bundleDir: signed,
    store: registryStore(client, 'models/runtime-signed'),
    tag: 'v1',
  });
  const manifest = await client.getManifest('models/runtime-signed', published.digest);
  await attachSignature(
    client,
    'models/runtime-signed',
    { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.bytes.length },
    fs.readFileSync(path.join(signed, signature.files.signature)),
  );
}, 600_000);

afterAll(async () => {
  for (const name of containers) podmanRun(['rm', '-f', '-t', '1', name]);
  await registry?.stop();
  podman?.cleanup();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('the alki-runtime image', () => {
  it('has node and the entrypoint on top of the llama-server base, and a volume for the bundle', async () => {
    const built = await readImageFromLayout(store, 'alki-runtime:test');
    const config = built.config.config!;
    expect(config.Entrypoint).toEqual([
      '/opt/alki/node/bin/node',
      '/opt/alki/runtime/node_modules/@alki/image-builder/dist/runtime/entrypoint.js',
    ]);
    expect(config.Env).toEqual(
      expect.arrayContaining(['ALKI_BUNDLE_DIR=/var/lib/alki/bundle', 'ALKI_LLAMA_SERVER=/app/llama-server']),
    );
    expect(config.Volumes).toEqual({ '/var/lib/alki': {} });
    expect(config.User).toBe('65532:65532');
    expect(config.Labels?.['io.alki.image']).toBe('runtime');
    expect(built.config.history).toHaveLength(2);
  });

  it('pulls its bundle from the registry, verifies it and serves chat completions; a restart skips the download', async () => {
    const port = await freePort();
    const name = `alki-runtime-${port}`;
    startRuntime(name, `${registry.host}/models/runtime-chat:v1`, port);
    await waitForHealth(port, name);
    expect(logs(name)).toMatch(/pulled and verified/);
    const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'not-needed' });
    const first = await client.chat.completions.create({
      model: 'runtime-chat',
      messages: [{ role: 'user', content: 'Hi' }],
      max_tokens: 4,
      temperature: 0,
    });
    expect(first.model).toBe(bundle.manifest.slug);
    expect(first.usage?.completion_tokens).toBeGreaterThan(0);

    // Stop the registry's answers from mattering: after a restart the bundle
    // on the container's volume is verified and served without a pull.
    expect(podmanRun(['restart', '-t', '2', name]).status).toBe(0);
    await waitForHealth(port, name);
    expect(logs(name)).toMatch(/present and intact in \/var\/lib\/alki\/bundle; skipping the download/);
    const second = await client.chat.completions.create({
      model: 'runtime-chat',
      messages: [{ role: 'user', content: 'Hi' }],
      max_tokens: 4,
      temperature: 0,
    });
    expect(second.choices[0].message.content).toBe(first.choices[0].message.content);
  }, 300_000);

  it('refuses an unsigned bundle under a trust policy that requires a signature, in one line', async () => {
    const port = await freePort();
    const name = `alki-runtime-unsigned-${port}`;
    const policy = JSON.stringify({ schema_version: 1, keys: [{ name: 'builder', public_key: builderPem }] });
    startRuntime(name, `${registry.host}/models/runtime-chat:v1`, port, [
      '-e',
      `ALKI_TRUST_POLICY=${policy}`,
    ]);
    const code = await waitForExit(name);
    expect(code).not.toBe(0);
    const output = logs(name);
    const refusals = output.split('\n').filter((line) => line.includes('refusing to start'));
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toMatch(
      new RegExp(
        `^alki-runtime: refusing to start: The bundle pulled from ${registry.host}/models/runtime-chat:v1 does not pass ALKI_TRUST_POLICY: .*models/runtime-chat@sha256:[0-9a-f]{64} has no signature attached \\(no Sigstore referrer\\), and the policy requires a signature\\.$`,
      ),
    );
    expect(output).not.toMatch(/alki-runtime: hint/);
    expect(output).not.toMatch(/starting \/app\/llama-server/);
    expect(output).not.toMatch(/\n\s+at /);
  }, 300_000);

  it('serves the bundle signed by the key a mounted policy file trusts, and refuses a policy that does not parse', async () => {
    // A policy file and its key, mounted read-only as a ConfigMap or a quadlet Volume= would mount them.
    const trust = path.join(work, 'trust');
    fs.mkdirSync(trust, { mode: 0o755 });
    fs.writeFileSync(path.join(trust, 'builder.pub'), builderPem, { mode: 0o644 });
    fs.writeFileSync(
      path.join(trust, 'policy.json'),
      JSON.stringify({ schema_version: 1, keys: [{ name: 'builder', path: 'builder.pub' }] }),
      { mode: 0o644 },
    );
    fs.chmodSync(work, 0o755);
    const port = await freePort();
    const name = `alki-runtime-signed-${port}`;
    startRuntime(name, `${registry.host}/models/runtime-signed:v1`, port, [
      '--volume',
      `${trust}:/etc/alki/trust:ro`,
      '-e',
      'ALKI_TRUST_POLICY=/etc/alki/trust/policy.json',
    ]);
    await waitForHealth(port, name);
    expect(logs(name)).toMatch(
      /pulled and verified .*runtime-signed:v1, signed as ALKI_TRUST_POLICY requires/,
    );
    const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'not-needed' });
    const reply = await client.chat.completions.create({
      model: 'runtime-chat',
      messages: [{ role: 'user', content: 'Hi' }],
      max_tokens: 4,
      temperature: 0,
    });
    expect(reply.usage?.completion_tokens).toBeGreaterThan(0);

    const broken = `alki-runtime-bad-policy-${await freePort()}`;
    containers.push(broken);
    const result = podmanRun([
      'run',
      '--init',
      '--name',
      broken,
      '-e',
      `ALKI_BUNDLE_URI=${registry.host}/models/runtime-signed:v1`,
      '-e',
      'ALKI_TRUST_POLICY={"schema_version": 1,',
      image,
    ]);
    expect(result.status).toBe(1);
    expect(`${result.stdout}${result.stderr}`.trim()).toBe(
      'alki-runtime: refusing to start: ALKI_TRUST_POLICY: The trust policy (inline) is not valid JSON.',
    );
  }, 300_000);

  it('refuses to start, and says why, when a blob in the registry was tampered with', async () => {
    const model = bundle.manifest.artifacts[0];
    const blob = registry.blobFile(model.sha256);
    const bytes = fs.readFileSync(blob);
    bytes[Math.floor(bytes.length / 2)] ^= 0x01;
    fs.writeFileSync(blob, bytes);
    const port = await freePort();
    const name = `alki-runtime-tampered-${port}`;
    startRuntime(name, `${registry.host}/models/runtime-chat:v1`, port);
    const code = await waitForExit(name);
    expect(code).not.toBe(0);
    const output = logs(name);
    expect(output).toMatch(/alki-runtime: refusing to start: .*does not match its digest/);
    expect(output).not.toMatch(/starting \/app\/llama-server/);
    expect(output).not.toMatch(/\n\s+at /);
  }, 300_000);

  it('refuses to start without ALKI_BUNDLE_URI and says how to set it', async () => {
    const name = `alki-runtime-unset-${await freePort()}`;
    containers.push(name);
    const result = podmanRun(['run', '--init', '--name', name, image]);
    expect(result.status).toBe(1);
    expect(`${result.stdout}${result.stderr}`).toMatch(
      /ALKI_BUNDLE_URI is not set.*\n.*hint: Run the image with -e ALKI_BUNDLE_URI=/,
    );
  }, 120_000);
});
