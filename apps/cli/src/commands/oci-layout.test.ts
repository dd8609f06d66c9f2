import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pack } from '@alki/bundler';
import {
  cachedTinyLlamaGguf,
  freePort,
  nativeTools,
  podmanEnvironment,
  requireCommand,
  type PodmanEnvironment,
} from '@alki/testkit';
import { runCli } from '../test-support.js';

// One OCI image layout directory, written and read by every path that
// touches layouts: `alki image base --oci-layout`, `alki publish --local`,
// `alki image build --base oci:DIR --oci-layout`, `alki image runtime
// --oci-layout`, `alki tags`, `alki pull`, and the two-stage runtime image
// reading its bundle from the mounted layout (ALKI_BUNDLE_URI=oci:...).
// skopeo and umoci read it as well, as independent checks.
let work: string;
let layout: string;
let bundleDir: string;
let podman: PodmanEnvironment;
let llamaTag: string;
const containers: string[] = [];
const saved = { ...process.env };

function useFreshStore(name: string): void {
  process.env.XDG_DATA_HOME = path.join(work, name);
}

function podmanRun(args: string[]) {
  return spawnSync('podman', args, { encoding: 'utf8', env: podman.env, maxBuffer: 64 << 20 });
}

function readTree(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (relative: string) => {
    for (const entry of fs.readdirSync(path.join(dir, relative), { withFileTypes: true })) {
      const child = path.join(relative, entry.name);
      if (entry.isDirectory()) walk(child);
      else files.set(child, fs.readFileSync(path.join(dir, child)).toString('base64'));
    }
  };
  walk('');
  return files;
}

beforeAll(async () => {
  const tools = await nativeTools();
  llamaTag = tools.tag;
  podman = podmanEnvironment();
  // Lower case only: podman names an image it runs from oci:DIR after DIR.
  work = path.join(os.tmpdir(), `alki-cli-layout-${randomBytes(6).toString('hex')}`);
  fs.mkdirSync(work);
  // The runtime container runs as 65532 and reads the mounted layout.
  fs.chmodSync(work, 0o755);
  layout = path.join(work, 'shared-oci');
  process.env.CONTAINERS_CONF = podman.env.CONTAINERS_CONF;
  process.env.CONTAINERS_STORAGE_CONF = podman.env.CONTAINERS_STORAGE_CONF;
  const gguf = await cachedTinyLlamaGguf({ name: 'layout-chat' });
  bundleDir = path.join(work, 'bundle');
  await pack({
    source: gguf.path,
    out: bundleDir,
    name: 'layout-chat',
    env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000' },
  });
}, 600_000);

afterAll(() => {
  for (const name of containers) podmanRun(['rm', '-f', '-t', '1', name]);
  for (const key of ['XDG_DATA_HOME', 'CONTAINERS_CONF', 'CONTAINERS_STORAGE_CONF']) {
    if (saved[key] === undefined) delete process.env[key];
    else process.env[key] = saved[key];
  }
  podman?.cleanup();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('one OCI layout, written and read by every command', () => {
  it('holds the base, the bundle, the bundle image and the runtime, and each command reads what the others wrote', async () => {
    // 1. The image path writes the layout first: the air-gapped base.
    useFreshStore('store-base');
    const base = await runCli(['image', 'base', '--oci-layout', layout, '--json']);
    expect(base.code).toBe(0);
    const baseResult = JSON.parse(base.stdout) as { digest: string };

    // 2. The bundle path adds to it.
    const published = await runCli(['publish', bundleDir, '--local', layout, '--tag', 'v1', '--json']);
    expect(published.code).toBe(0);
    const bundleDigest = (JSON.parse(published.stdout) as { digest: string }).digest;

    // 3. Both are listed, each once, with the digests their writers reported.
    const tags = JSON.parse((await runCli(['tags', `oci:${layout}`, '--json'])).stdout) as {
      tags: Array<{ tag: string; digest: string }>;
    };
    expect(tags.tags).toEqual(
      [
        { tag: 'latest', digest: bundleDigest },
        { tag: llamaTag, digest: baseResult.digest },
        { tag: 'v1', digest: bundleDigest },
      ].sort((a, b) => (a.tag < b.tag ? -1 : 1)),
    );

    // 4. pull reads the bundle back byte for byte.
    const pulledDir = path.join(work, 'pulled');
    const pulled = await runCli(['pull', `oci:${layout}:v1`, '-o', pulledDir, '--json']);
    expect(pulled.code).toBe(0);
    expect(readTree(pulledDir)).toEqual(readTree(bundleDir));

    // 5. A fresh store: image build and image runtime can only get their base from the layout.
    useFreshStore('store-build');
    const built = await runCli([
      'image',
      'build',
      bundleDir,
      '--base',
      `oci:${layout}:${llamaTag}`,
      '--tag',
      'acme/layout-chat:1',
      '--oci-layout',
      layout,
      '--json',
    ]);
    expect(built.code).toBe(0);
    const runtime = await runCli([
      'image',
      'runtime',
      '--base',
      `oci:${layout}:${llamaTag}`,
      '--tag',
      'alki-runtime:layout',
      '--oci-layout',
      layout,
      '--json',
    ]);
    expect(runtime.code).toBe(0);
    const after = JSON.parse((await runCli(['tags', `oci:${layout}`, '--json'])).stdout) as {
      tags: Array<{ tag: string }>;
    };
    expect(after.tags.map((t) => t.tag)).toEqual(['1', 'latest', 'layout', llamaTag, 'v1'].sort());

    // 6. Independent readers: skopeo sees every manifest; umoci unpacks the bundle image.
    const skopeo = requireCommand('skopeo', 'the OCI layout interoperability test');
    for (const tag of ['v1', '1', 'layout', llamaTag])
      expect(
        JSON.parse(execFileSync(skopeo, ['inspect', '--raw', `oci:${layout}:${tag}`], { encoding: 'utf8' })),
      ).toHaveProperty('schemaVersion', 2);
    const unpacked = path.join(work, 'umoci');
    execFileSync(requireCommand('umoci', 'the OCI layout interoperability test'), [
      'unpack',
      '--rootless',
      '--image',
      `${layout}:1`,
      unpacked,
    ]);
    expect(
      fs.existsSync(path.join(unpacked, 'rootfs', 'opt', 'alki', 'bundle', 'metadata', 'manifest.json')),
    ).toBe(true);

    // 7. The two-stage runtime, run from the layout, pulls its bundle from the same layout.
    const port = await freePort();
    const name = `alki-layout-runtime-${port}`;
    containers.push(name);
    const started = podmanRun([
      'run',
      '-d',
      '--init',
      '--name',
      name,
      '-v',
      `${layout}:/layout:ro`,
      '-e',
      'ALKI_BUNDLE_URI=oci:/layout:v1',
      `oci:${layout}:layout`,
      '--port',
      String(port),
    ]);
    expect(started.stderr).not.toMatch(/Error/);
    expect(started.status).toBe(0);
    const deadline = Date.now() + 180_000;
    let health = 0;
    while (health !== 200 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      health = await fetch(`http://127.0.0.1:${port}/health`).then(
        (r) => r.status,
        () => 0,
      );
      if (podmanRun(['inspect', '--format', '{{.State.Running}}', name]).stdout.trim() === 'false') break;
    }
    const logs = podmanRun(['logs', name]);
    expect(`${logs.stdout}${logs.stderr}`).toMatch(/alki-runtime: pulled and verified oci:\/layout:v1/);
    expect(health).toBe(200);
  }, 900_000);
});
