import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { pack, verifyBundle } from '@alki/bundler';
import { startRegistry, writeTinyLlamaGguf, type TestRegistry } from '@alki/testkit';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { publishedDigest, runCli } from '../test-support.js';

let registry: TestRegistry;
let work: string;
let bundle: string;
let digest: string;

beforeAll(async () => {
  registry = await startRegistry();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-cli-pull-'));
  const gguf = path.join(work, 'tiny.gguf');
  await writeTinyLlamaGguf(gguf, { name: 'pull-tiny' });
  bundle = path.join(work, 'bundle');
  await pack({ source: gguf, out: bundle, sourceDateEpoch: 1_700_000_000 });
  digest = await publishedDigest(bundle, registry.host, 'v1.0.0');
});
afterAll(async () => {
  await registry?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

function sameFiles(a: string, b: string): void {
  const list = (dir: string): string[] =>
    fs
      .readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
      .sort();
  expect(list(a)).toEqual(list(b));
  for (const file of list(a))
    expect(fs.readFileSync(path.join(a, file)).equals(fs.readFileSync(path.join(b, file)))).toBe(true);
}

describe('alki pull', () => {
  it('restores the bundle byte for byte by tag, defaulting to latest, and prints the digest', async () => {
    const out = path.join(work, 'pulled');
    const run = await runCli(['pull', `${registry.host}/pull-tiny:v1.0.0`, '-o', out, '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      digest,
      reference: `${registry.host}/pull-tiny@${digest}`,
    });
    sameFiles(out, bundle);
    const latest = path.join(work, 'latest');
    const human = await runCli(['pull', `${registry.host}/pull-tiny`, '-o', latest]);
    expect(human.stdout).toContain(digest);
    expect((await verifyBundle(latest)).ok).toBe(true);
  });

  it('pulls by digest and from an OCI layout', async () => {
    const byDigest = path.join(work, 'by-digest');
    expect(
      (await runCli(['pull', `${registry.host}/pull-tiny@${digest}`, '-o', byDigest, '--quiet'])).code,
    ).toBe(0);
    sameFiles(byDigest, bundle);
    const layout = path.join(work, 'layout');
    await runCli(['publish', bundle, '--local', layout, '--tag', 'v1', '--quiet']);
    const fromLayout = path.join(work, 'from-layout');
    expect((await runCli(['pull', `oci:${layout}:v1`, '-o', fromLayout, '--quiet'])).code).toBe(0);
    sameFiles(fromLayout, bundle);
  });

  it('exits 2 for a non-empty output without --force, 3 for an unknown tag or a malformed reference', async () => {
    const occupied = path.join(work, 'occupied');
    fs.mkdirSync(occupied);
    fs.writeFileSync(path.join(occupied, 'x'), 'keep');
    expect((await runCli(['pull', `${registry.host}/pull-tiny:v1.0.0`, '-o', occupied])).code).toBe(2);
    expect(fs.readFileSync(path.join(occupied, 'x'), 'utf8')).toBe('keep');
    const missing = await runCli(['pull', `${registry.host}/pull-tiny:v9`, '-o', path.join(work, 'none')]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/has no manifest v9/);
    expect((await runCli(['pull', `${registry.host}/Bad Name`, '-o', path.join(work, 'none')])).code).toBe(3);
  });

  it('exits 1 when a blob was tampered with in the registry, leaving nothing behind', async () => {
    await runCli(['publish', bundle, '--registry', `${registry.host}/tamper`, '--tag', 'v1', '--quiet']);
    const blobs = path.join(registry.storageDir, 'docker/registry/v2/blobs/sha256');
    // The largest blob is the model.
    const data = fs
      .readdirSync(blobs, { recursive: true })
      .map((entry) => path.join(blobs, String(entry)))
      .filter((file) => file.endsWith('/data'))
      .sort((a, b) => fs.statSync(b).size - fs.statSync(a).size)[0];
    const bytes = fs.readFileSync(data);
    bytes[100] ^= 1;
    fs.writeFileSync(data, bytes);
    try {
      const out = path.join(work, 'tampered');
      const run = await runCli(['pull', `${registry.host}/tamper/pull-tiny:v1`, '-o', out]);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/does not match its digest/);
      expect(fs.existsSync(out)).toBe(false);
    } finally {
      bytes[100] ^= 1;
      fs.writeFileSync(data, bytes);
    }
  });
});
