import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../__fixtures__/fixture-bundle.js';
import { closureEntries, packageClosure, type ClosurePackage } from './node-closure.js';

// The runtime image's node_modules, laid out on disk exactly as the image's
// layer places it, then used by Node: every package must resolve each of its
// dependencies to the version it resolves to in this checkout (npm nests a
// second version of lru-cache, minimatch or semver below the package that
// needs it), and the entrypoint's modules (the signer and its @sigstore
// packages among them) must load from there alone.
const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

let closure: ClosurePackage[];
let root: string;

function versionOf(dir: string): string {
  return (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

/** Where Node finds `name` from `dir`, with Node's own list of node_modules folders to search. */
function resolvedVersion(dir: string, name: string): string | undefined {
  const paths = createRequire(path.join(dir, 'package.json')).resolve.paths(name) ?? [];
  const found = paths
    .map((folder) => path.join(folder, name))
    .find((d) => fs.existsSync(path.join(d, 'package.json')));
  return found && versionOf(found);
}

beforeAll(() => {
  closure = packageClosure(packageDir);
  root = tempDir('alki-closure-');
  for (const entry of closureEntries(closure, 'runtime')) {
    if (entry.type !== 'file' || entry.content.kind !== 'file')
      throw new Error(`unexpected entry ${entry.path}`);
    const target = path.join(root, entry.path);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.copyFileSync(entry.content.path, target);
  }
}, 120_000);

afterAll(() => {
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

describe('the runtime image node closure', () => {
  it('keeps the versions npm nested below the packages that need them', () => {
    const nested = closure.filter((pkg) => pkg.at.split('/node_modules/').length > 1);
    expect(nested.length).toBeGreaterThan(0);
    expect(new Set(closure.map((pkg) => pkg.at)).size).toBe(closure.length);
    const mismatches: string[] = [];
    for (const pkg of closure) {
      const manifest = JSON.parse(fs.readFileSync(path.join(pkg.dir, 'package.json'), 'utf8')) as {
        dependencies?: Record<string, string>;
      };
      for (const dependency of Object.keys(manifest.dependencies ?? {})) {
        const here = resolvedVersion(pkg.dir, dependency);
        const there = resolvedVersion(path.join(root, 'runtime', pkg.at), dependency);
        if (here !== there)
          mismatches.push(`${pkg.at} -> ${dependency}: ${here} here, ${there} in the image`);
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('loads the entrypoint modules and verifies with the signer from the closure alone', () => {
    const dist = path.join(root, 'runtime/node_modules/@alki/image-builder/dist/runtime');
    const script = `
      const { pullBundleFromUri } = await import(${JSON.stringify(path.join(dist, 'pull-bundle.js'))});
      const { runtimeSettings } = await import(${JSON.stringify(path.join(dist, 'runtime-main.js'))});
      const signer = await import.meta.resolve('@alki/signer');
      console.log(typeof pullBundleFromUri, typeof runtimeSettings, signer);
    `;
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: dist,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '' },
    });
    expect(result.stderr).toBe('');
    const [pull, settings, signer] = result.stdout.trim().split(' ');
    expect([pull, settings]).toEqual(['function', 'function']);
    expect(signer).toBe(`file://${path.join(root, 'runtime/node_modules/@alki/signer/dist/index.js')}`);
  });
});
