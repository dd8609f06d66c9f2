import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { pack } from '@alki/bundler';
import type { PublishResult } from '@alki/registry-publisher';
import { startRegistry, validateCompose, writeTinyLlamaGguf, type TestRegistry } from '@alki/testkit';
import { Deployment } from 'kubernetes-models/apps/v1';
import { parseAllDocuments } from 'yaml';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../test-support.js';

/** What `alki publish --json` prints. */
const published = (stdout: string) => JSON.parse(stdout) as PublishResult & { reference: string };

let registry: TestRegistry;
let work: string;
let bundle: string;

beforeAll(async () => {
  registry = await startRegistry();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-cli-publish-'));
  const gguf = path.join(work, 'tiny.gguf');
  await writeTinyLlamaGguf(gguf, { name: 'cli-tiny' });
  bundle = path.join(work, 'bundle');
  await pack({ source: gguf, out: bundle, sourceDateEpoch: 1_700_000_000 });
});
afterAll(async () => {
  await registry?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('alki publish', () => {
  it('pushes to <registry>/<slug>, tags the version and latest, and prints the digest as JSON', async () => {
    const run = await runCli([
      'publish',
      bundle,
      '--registry',
      `${registry.host}/ai`,
      '--tag',
      'v1.0.0',
      '--json',
    ]);
    expect(run.code).toBe(0);
    const result = published(run.stdout);
    expect(result.reference).toMatch(new RegExp(`^${registry.host}/ai/cli-tiny@sha256:[a-f0-9]{64}$`));
    expect(result.tags).toEqual(['v1.0.0', 'latest']);
    expect(result.bytesUploaded).toBe(result.totalBytes);
  });

  it('uploads 0 bytes on a re-push and prints the same digest for people', async () => {
    const first = await runCli([
      'publish',
      bundle,
      '--registry',
      `${registry.host}/ai`,
      '--tag',
      'v1.0.0',
      '--json',
    ]);
    const again = await runCli(['publish', bundle, '--registry', `${registry.host}/ai`, '--tag', 'v1.0.0']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(published(first.stdout).digest);
    expect(again.stdout).toContain('uploaded 0 of');
  });

  it('exits 2 with a hint when a version tag would move, and succeeds with --force', async () => {
    const other = path.join(work, 'other');
    const gguf = path.join(work, 'other.gguf');
    await writeTinyLlamaGguf(gguf, { name: 'cli-tiny', seed: 9 });
    await pack({ source: gguf, out: other, sourceDateEpoch: 1_700_000_000 });
    const refused = await runCli(['publish', other, '--registry', `${registry.host}/ai`, '--tag', 'v1.0.0']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/already points at other content/);
    expect(refused.stderr).toMatch(/--force/);
    expect(
      (
        await runCli([
          'publish',
          other,
          '--registry',
          `${registry.host}/ai`,
          '--tag',
          'v1.0.0',
          '--force',
          '--quiet',
        ])
      ).code,
    ).toBe(0);
  });

  it('writes an OCI image layout with --local', async () => {
    const layout = path.join(work, 'oci');
    const run = await runCli(['publish', bundle, '--local', layout, '--tag', 'v3.0.0', '--json']);
    expect(run.code).toBe(0);
    expect(published(run.stdout).reference).toMatch(new RegExp(`^oci:${layout}@sha256:`));
    expect(fs.existsSync(path.join(layout, 'oci-layout'))).toBe(true);
  });

  it('writes to ./oci with --local and no directory, as the seed README command does', async () => {
    const cwd = process.cwd();
    const dir = fs.mkdtempSync(path.join(work, 'cwd-'));
    process.chdir(dir);
    try {
      const run = await runCli(['publish', bundle, '--local', '--tag', 'v4.0.0', '--json']);
      expect(run.code).toBe(0);
      expect(published(run.stdout).reference).toMatch(/^oci:\.\/oci@sha256:[a-f0-9]{64}$/);
      expect(fs.existsSync(path.join(dir, 'oci', 'oci-layout'))).toBe(true);
      const tags = await runCli(['tags', 'oci:./oci', '--json']);
      expect((JSON.parse(tags.stdout) as { tags: Array<{ tag: string }> }).tags.map((t) => t.tag)).toEqual([
        'latest',
        'v4.0.0',
      ]);
    } finally {
      process.chdir(cwd);
    }
  });

  it('--deploy-out writes two-stage configs pinned by the digest it pushed', async () => {
    const out = path.join(work, 'deploy-two-stage');
    const runtimeImage = `${registry.host}/alki-runtime:1`;
    const publishWithDeploy = (...extra: string[]) =>
      runCli([
        'publish',
        bundle,
        '--registry',
        `${registry.host}/ai`,
        '--deploy-out',
        out,
        '--runtime-image',
        runtimeImage,
        ...extra,
      ]);
    const run = await publishWithDeploy('--json');
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as PublishResult & { reference: string; deployFiles: string[] };
    expect(result.deployFiles.sort()).toEqual([
      'compose/compose.yaml',
      'k3s/deployment.yaml',
      'k3s/service.yaml',
      'podman/alki-cli-tiny.container',
      'systemd/alki-cli-tiny.service',
    ]);
    const read = (file: string) => fs.readFileSync(path.join(out, file), 'utf8');
    const deployment = new Deployment(
      parseAllDocuments(read('k3s/deployment.yaml'))[0].toJS() as ConstructorParameters<typeof Deployment>[0],
    );
    expect(() => deployment.validate()).not.toThrow();
    expect(deployment.spec!.template.spec!.containers[0]).toMatchObject({
      image: runtimeImage,
      env: [
        { name: 'ALKI_BUNDLE_URI', value: result.reference },
        {
          name: 'LLAMA_API_KEY',
          valueFrom: { secretKeyRef: { name: 'alki-cli-tiny-api-key', key: 'api-key' } },
        },
      ],
    });
    for (const file of ['podman/alki-cli-tiny.container', 'systemd/alki-cli-tiny.service'])
      expect(read(file)).toContain(`Environment=ALKI_BUNDLE_URI=${result.reference}\n`);
    expect(validateCompose(parseAllDocuments(read('compose/compose.yaml'))[0].toJS())).toEqual([]);
    expect(fs.readdirSync(work).filter((name) => name.startsWith('.deploy-two-stage'))).toEqual([]);

    // A second run refuses the folder before pushing anything; --force replaces it.
    fs.writeFileSync(path.join(out, 'k3s/deployment.yaml'), 'edited\n');
    const again = await publishWithDeploy();
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already holds files[\s\S]*--force/);
    expect(again.stderr).not.toMatch(/Publishing/);
    expect((await publishWithDeploy('--force', '--quiet')).code).toBe(0);
    expect(read('k3s/deployment.yaml')).toContain(result.reference);
  });

  it('--deploy-out needs --registry and --runtime-image, and says so before pushing', async () => {
    const local = await runCli(['publish', bundle, '--local', path.join(work, 'oci-d'), '--deploy-out', 'd']);
    expect(local.code).toBe(2);
    expect(local.stderr).toMatch(/--deploy-out writes configs that pull from a registry; add --registry/);
    const noImage = await runCli([
      'publish',
      bundle,
      '--registry',
      `${registry.host}/ai`,
      '--deploy-out',
      'd',
    ]);
    expect(noImage.code).toBe(2);
    expect(noImage.stderr).toMatch(/--deploy-out needs --runtime-image[\s\S]*alki image runtime --push/);
    expect(fs.existsSync(path.join(work, 'oci-d'))).toBe(false);
  });

  it('exits 2 without --registry or --local, and 3 for a directory that is not a bundle', async () => {
    const none = await runCli(['publish', bundle]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--registry host\[\/namespace\] or --local DIR/);
    const notBundle = await runCli(['publish', work, '--registry', registry.host]);
    expect(notBundle.code).toBe(3);
  });

  it('exits 4 when the registry is unreachable', async () => {
    const run = await runCli(['publish', bundle, '--registry', '127.0.0.1:9/ai', '--json']);
    expect(run.code).toBe(4);
    expect((JSON.parse(run.stdout) as { error: { code: string } }).error.code).toBe('UNREACHABLE');
  }, 60_000);
});

describe('alki publish with basic auth', () => {
  it('logs in with ALKI_REGISTRY_USERNAME and ALKI_REGISTRY_PASSWORD or a Docker config, and exits 4 without them', async () => {
    const secured = await startRegistry({ basicAuth: { username: 'ci', password: 'pw' } });
    try {
      const denied = await runCli(['publish', bundle, '--registry', secured.host]);
      expect(denied.code).toBe(4);
      expect(denied.stderr).toMatch(/requires a user name and password/);
      process.env.ALKI_REGISTRY_USERNAME = 'ci';
      process.env.ALKI_REGISTRY_PASSWORD = 'pw';
      expect((await runCli(['publish', bundle, '--registry', secured.host, '--quiet'])).code).toBe(0);
      delete process.env.ALKI_REGISTRY_USERNAME;
      delete process.env.ALKI_REGISTRY_PASSWORD;
      // The same login from a Docker config's auths, found through DOCKER_CONFIG.
      const dockerConfig = path.join(work, 'docker');
      fs.mkdirSync(dockerConfig, { recursive: true });
      fs.writeFileSync(
        path.join(dockerConfig, 'config.json'),
        JSON.stringify({ auths: { [secured.host]: { auth: Buffer.from('ci:pw').toString('base64') } } }),
      );
      process.env.DOCKER_CONFIG = dockerConfig;
      const tags = await runCli(['tags', `${secured.host}/cli-tiny`, '--json']);
      expect(tags.code).toBe(0);
      expect((JSON.parse(tags.stdout) as { tags: Array<{ tag: string }> }).tags.map((t) => t.tag)).toContain(
        'latest',
      );
    } finally {
      delete process.env.ALKI_REGISTRY_USERNAME;
      delete process.env.ALKI_REGISTRY_PASSWORD;
      delete process.env.DOCKER_CONFIG;
      await secured.stop();
    }
  });
});
