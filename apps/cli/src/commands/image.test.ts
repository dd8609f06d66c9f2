import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pack } from '@alki/bundler';
import {
  cachedTinyLlamaGguf,
  crossLlamaServer,
  nativeTools,
  podmanEnvironment,
  type PodmanEnvironment,
} from '@alki/testkit';
import { EXIT_CODES } from '../exit-codes.js';
import { runCli } from '../test-support.js';

// The image commands end to end, in-process: an air-gapped base from the
// native llama-server, an image from a real bundle, its outputs, `list` and
// `test` through podman. The store lives in a temp XDG_DATA_HOME.
let work: string;
let bundleDir: string;
let baseTag: string;
let podman: PodmanEnvironment;
const saved = { ...process.env };

beforeAll(async () => {
  const tools = await nativeTools();
  baseTag = `alki/llama-server:${tools.tag}`;
  podman = podmanEnvironment();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-cli-image-'));
  process.env.XDG_DATA_HOME = path.join(work, 'data');
  process.env.CONTAINERS_CONF = podman.env.CONTAINERS_CONF;
  process.env.CONTAINERS_STORAGE_CONF = podman.env.CONTAINERS_STORAGE_CONF;
  const gguf = await cachedTinyLlamaGguf({ name: 'cli-chat' });
  bundleDir = path.join(work, 'bundle');
  await pack({
    source: gguf.path,
    out: bundleDir,
    name: 'cli-chat',
    env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000' },
  });
}, 600_000);

afterAll(() => {
  for (const key of ['XDG_DATA_HOME', 'CONTAINERS_CONF', 'CONTAINERS_STORAGE_CONF']) {
    if (saved[key] === undefined) delete process.env[key];
    else process.env[key] = saved[key];
  }
  podman?.cleanup();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('alki image', () => {
  it('base builds the air-gapped llama-server base into the store', async () => {
    const { code, stdout, stderr } = await runCli(['image', 'base', '--json']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const result = JSON.parse(stdout) as { tag: string; digest: string; healthcheck: boolean; store: string };
    expect(result.tag).toBe(baseTag);
    expect(result.digest).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(result.healthcheck).toBe(true);
    expect(result.store).toBe(path.join(work, 'data', 'alki', 'images'));
  }, 120_000);

  it('build writes the image to the store, an OCI layout and a docker archive, and reports them', async () => {
    const layout = path.join(work, 'out-oci');
    const archive = path.join(work, 'out.tar');
    const { code, stdout } = await runCli([
      'image',
      'build',
      bundleDir,
      '--base',
      baseTag,
      '--tag',
      'acme/cli-chat:1',
      '--oci-layout',
      layout,
      '--docker-archive',
      archive,
      '--json',
    ]);
    expect(code).toBe(0);
    const result = JSON.parse(stdout) as {
      tag: string;
      digest: string;
      base: string;
      ociLayout: string;
      dockerArchive: string;
      size: number;
    };
    expect(result).toMatchObject({
      tag: 'acme/cli-chat:1',
      base: baseTag,
      ociLayout: layout,
      dockerArchive: archive,
    });
    const index = JSON.parse(fs.readFileSync(path.join(layout, 'index.json'), 'utf8')) as {
      manifests: Array<{ digest: string }>;
    };
    expect(index.manifests[0].digest).toBe(result.digest);
    expect(fs.statSync(archive).size).toBeGreaterThan(result.size);
  }, 120_000);

  it('build refuses to overwrite an existing archive without --force (exit 2), and replaces it with --force', async () => {
    const archive = path.join(work, 'out.tar');
    const refused = await runCli([
      'image',
      'build',
      bundleDir,
      '--base',
      baseTag,
      '--tag',
      'acme/cli-chat:1',
      '--docker-archive',
      archive,
    ]);
    expect(refused.code).toBe(EXIT_CODES.usage);
    expect(refused.stderr).toMatch(/already exists/);
    expect(refused.stderr).toMatch(/--force/);
    const forced = await runCli([
      'image',
      'build',
      bundleDir,
      '--base',
      baseTag,
      '--tag',
      'acme/cli-chat:1',
      '--docker-archive',
      archive,
      '--force',
      '--quiet',
    ]);
    expect(forced.code).toBe(0);
  }, 120_000);

  it('list shows the base and the image of the store', async () => {
    const { code, stdout } = await runCli(['image', 'list', '--json']);
    expect(code).toBe(0);
    const images = JSON.parse(stdout) as Array<{ where: string; name: string; kind: string }>;
    expect(images.filter((i) => i.where === 'store').map((i) => [i.name, i.kind])).toEqual([
      ['acme/cli-chat:1', 'bundle'],
      [baseTag, 'base'],
    ]);
  });

  it('test runs the image with podman, gets a chat completion and reports its latency', async () => {
    const { code, stdout, stderr } = await runCli(['image', 'test', 'acme/cli-chat:1', '--json']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const result = JSON.parse(stdout) as {
      engine: string;
      model: string;
      reply: string;
      startupMs: number;
      completionMs: number;
    };
    expect(result.engine).toBe('podman');
    expect(result.model).toBe('cli-chat');
    expect(typeof result.reply).toBe('string');
    expect(result.completionMs).toBeGreaterThan(0);
  }, 240_000);

  it('build says a directory that is not a bundle is invalid input (exit 3)', async () => {
    const { code, stderr } = await runCli(['image', 'build', path.join(work, 'nothing-here')]);
    expect(code).toBe(EXIT_CODES.inputInvalid);
    expect(stderr).toMatch(/^error: .*not an Alki bundle/m);
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it('build explains an unreachable base registry as a network failure (exit 4) with a hint', async () => {
    const { code, stderr } = await runCli([
      'image',
      'build',
      bundleDir,
      '--base',
      '127.0.0.1:9/nothing/here:latest',
    ]);
    expect(code).toBe(EXIT_CODES.network);
    expect(stderr).toMatch(
      /^error: The base image 127\.0\.0\.1:9\/nothing\/here:latest could not be pulled/m,
    );
    expect(stderr).toMatch(/^hint: /m);
  }, 120_000);

  it('build says an OCI layout base that does not exist is invalid input (exit 3)', async () => {
    const { code, stderr } = await runCli([
      'image',
      'build',
      bundleDir,
      '--base',
      `oci:${path.join(work, 'no-layout')}:latest`,
    ]);
    expect(code).toBe(EXIT_CODES.inputInvalid);
    expect(stderr).toMatch(/cannot be used/);
  });

  it('base --platform linux/amd64,linux/arm64 tags an index over both, and build --platform picks its arm64 image', async () => {
    await crossLlamaServer('linux/arm64');
    const base = await runCli([
      'image',
      'base',
      '--platform',
      'linux/amd64,linux/arm64',
      '--tag',
      'alki/llama-server:both',
      '--json',
    ]);
    expect(base.stderr).toBe('');
    expect(base.code).toBe(0);
    const index = JSON.parse(base.stdout) as {
      platforms: Array<{ architecture: string }>;
      healthcheck: boolean;
    };
    expect(index.platforms.map((p) => p.architecture)).toEqual(['amd64', 'arm64']);
    expect(index.healthcheck).toBe(true);
    const arm = await runCli([
      'image',
      'build',
      bundleDir,
      '--base',
      'alki/llama-server:both',
      '--platform',
      'linux/arm64',
      '--tag',
      'acme/cli-chat:arm64',
      '--json',
    ]);
    expect(arm.code).toBe(0);
    expect((JSON.parse(arm.stdout) as { base: string }).base).toBe('alki/llama-server:both');
  }, 300_000);

  it('refuses a --platform it cannot build for, or a base of another architecture (exit 2, naming the flag)', async () => {
    const buildFor = (platform: string, ...extra: string[]) =>
      runCli(['image', 'build', bundleDir, '--base', baseTag, '--platform', platform, ...extra]);
    const malformed = await buildFor('arm64', '--json');
    expect(malformed.code).toBe(EXIT_CODES.usage);
    expect(JSON.parse(malformed.stdout)).toMatchObject({
      error: { code: 'USAGE', details: { flag: 'platform' } },
    });
    const unknown = await runCli(['image', 'base', '--platform', 'linux/riscv64']);
    expect(unknown.code).toBe(EXIT_CODES.usage);
    expect(unknown.stderr).toMatch(/^error: llama-server cannot be cross-built for linux\/riscv64/m);
    const twice = await runCli(['image', 'base', '--platform', 'linux/arm64,linux/arm64']);
    expect(twice.code).toBe(EXIT_CODES.usage);
    expect(twice.stderr).toMatch(/linux\/arm64 is named twice/);
    const wrongBase = await buildFor('linux/arm64');
    expect(wrongBase.code).toBe(EXIT_CODES.usage);
    expect(wrongBase.stderr).toMatch(/is a linux\/amd64 image, not linux\/arm64/);
    const tools = await runCli(['tools', 'build', '--platform', 'linux/riscv64']);
    expect(tools.code).toBe(EXIT_CODES.usage);
  }, 120_000);

  it('runtime builds the two-stage image on the air-gapped base when it is in the store', async () => {
    const { code, stdout } = await runCli(['image', 'runtime', '--json']);
    expect(code).toBe(0);
    const result = JSON.parse(stdout) as { tag: string; base: string; digest: string };
    expect(result).toMatchObject({ tag: 'alki-runtime:latest', base: baseTag });
    const listed = JSON.parse((await runCli(['image', 'list', '--json'])).stdout) as Array<{
      name: string;
      kind: string;
      digest: string;
    }>;
    expect(listed.find((i) => i.name === 'alki-runtime:latest')).toMatchObject({
      kind: 'runtime',
      digest: result.digest,
    });
  }, 300_000);
});
