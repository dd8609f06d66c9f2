import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeTestGguf } from './__fixtures__/test-gguf.js';
import { pack, readBundle, verifyBundle, type BundleManifest } from './index.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'alki-verify-'));
const pristine = path.join(work, 'pristine');
let manifest: BundleManifest;
let modelPath: string;

beforeAll(async () => {
  const source = path.join(work, 'tiny.gguf');
  await writeTestGguf(source, { name: 'tiny', fileType: 0 });
  manifest = (await pack({ source, out: pristine, sourceDateEpoch: 1 })).manifest;
  modelPath = manifest.artifacts[0].uri.slice(2);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

let copies = 0;
function copyOfBundle(): string {
  const dir = path.join(work, `copy-${copies++}`);
  cpSync(pristine, dir, { recursive: true });
  return dir;
}

function editManifest(dir: string, edit: (manifest: Record<string, unknown>) => void): void {
  const file = path.join(dir, 'metadata/manifest.json');
  const value = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  edit(value);
  writeFileSync(file, JSON.stringify(value));
}

describe('verifyBundle', () => {
  it('passes an untouched bundle and lists every file it hashed', async () => {
    const report = await verifyBundle(pristine);
    expect(report.ok).toBe(true);
    expect(report.problems).toEqual([]);
    expect(report.checked.map((c) => c.path).sort()).toEqual(
      [modelPath, ...manifest.files.map((f) => f.path)].sort(),
    );
  });

  it('names a model file with one flipped byte as tampered', async () => {
    const dir = copyOfBundle();
    const file = path.join(dir, modelPath);
    const bytes = readFileSync(file);
    bytes[bytes.length - 3] ^= 0x01;
    writeFileSync(file, bytes);
    const report = await verifyBundle(dir);
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([
      expect.objectContaining({
        path: modelPath,
        kind: 'tampered',
        expected: { sha256: manifest.artifacts[0].sha256, size: manifest.artifacts[0].size },
      }),
    ]);
    expect(report.problems[0].message).toContain(modelPath);
  });

  it('reports a truncated file, a missing file and an extra file, each by path', async () => {
    const dir = copyOfBundle();
    writeFileSync(path.join(dir, 'metadata/README.md'), 'short');
    unlinkSync(path.join(dir, 'deploy/k3s/service.yaml'));
    writeFileSync(path.join(dir, 'models/extra.gguf'), 'sneaked in');
    const report = await verifyBundle(dir);
    expect(report.problems.map((p) => [p.kind, p.path])).toEqual([
      ['missing', 'deploy/k3s/service.yaml'],
      ['tampered', 'metadata/README.md'],
      ['extra', 'models/extra.gguf'],
    ]);
    expect(report.problems[1].message).toMatch(/has 5 bytes, the manifest says \d+ bytes/);
  });

  it('leaves signature files under metadata/signatures to the signer, and reports other files there as extra', async () => {
    const dir = copyOfBundle();
    mkdirSync(path.join(dir, 'metadata/signatures'));
    writeFileSync(path.join(dir, 'metadata/signatures/manifest-0123abcd.sigstore.json'), '{}');
    writeFileSync(path.join(dir, 'metadata/signatures/notes.txt'), 'not a signature');
    const report = await verifyBundle(dir);
    expect(report.problems.map((p) => [p.kind, p.path])).toEqual([
      ['extra', 'metadata/signatures/notes.txt'],
    ]);
  });

  it('does not follow a link planted in place of a model file', async () => {
    const dir = copyOfBundle();
    const outside = path.join(work, 'outside.gguf');
    cpSync(path.join(pristine, modelPath), outside);
    unlinkSync(path.join(dir, modelPath));
    symlinkSync(outside, path.join(dir, modelPath));
    const report = await verifyBundle(dir);
    expect(report.problems).toEqual([expect.objectContaining({ path: modelPath, kind: 'not-a-file' })]);
  });

  it('reports the SBOM when its hash disagrees with the manifest', async () => {
    const dir = copyOfBundle();
    const sbomFile = path.join(dir, 'metadata/sbom.spdx.json');
    writeFileSync(
      sbomFile,
      readFileSync(sbomFile, 'utf8').replace(manifest.artifacts[0].sha256, '0'.repeat(64)),
    );
    const report = await verifyBundle(dir);
    expect(report.problems.map((p) => [p.kind, p.path])).toEqual([
      ['tampered', 'metadata/sbom.spdx.json'],
      ['invalid-sbom', 'metadata/sbom.spdx.json'],
    ]);
    expect(report.problems[1].message).toContain(`has SHA256 ${'0'.repeat(64)}`);
  });
});

describe('readBundle', () => {
  it('returns the absolute directory, the manifest and the runtime', async () => {
    const bundle = await readBundle(path.relative(process.cwd(), pristine));
    expect(bundle.dir).toBe(pristine);
    expect(bundle.manifest).toEqual(manifest);
    expect(bundle.runtime.model).toBe(manifest.artifacts[0].uri);
  });

  it('says a directory without a manifest is not a bundle', async () => {
    await expect(readBundle(work)).rejects.toMatchObject({ code: 'NOT_A_BUNDLE', category: 'input' });
    await expect(readBundle(work)).rejects.toThrow(
      `${work} is not an Alki bundle: metadata/manifest.json is missing.`,
    );
  });

  it('tells a path that does not exist, and a model file given for its bundle, from a directory without a manifest', async () => {
    const missing = path.join(work, 'does-not-exist');
    await expect(readBundle(missing)).rejects.toMatchObject({
      code: 'NOT_A_BUNDLE',
      message: `${missing} is not an Alki bundle: it does not exist.`,
    });
    const file = path.join(work, 'model.gguf');
    writeFileSync(file, 'GGUF');
    await expect(readBundle(file)).rejects.toMatchObject({
      code: 'NOT_A_BUNDLE',
      message: expect.stringContaining('it is a file, not a bundle directory'),
    });
  });

  it('refuses a manifest or runtime that is a link', async () => {
    const dir = copyOfBundle();
    const elsewhere = path.join(work, 'elsewhere-manifest.json');
    cpSync(path.join(dir, 'metadata/manifest.json'), elsewhere);
    unlinkSync(path.join(dir, 'metadata/manifest.json'));
    symlinkSync(elsewhere, path.join(dir, 'metadata/manifest.json'));
    await expect(readBundle(dir)).rejects.toMatchObject({
      code: 'PATH_ESCAPE',
      message: expect.stringContaining('symbolic link'),
    });
    await expect(verifyBundle(dir)).rejects.toMatchObject({ code: 'PATH_ESCAPE' });
  });

  it('rejects a manifest that is not JSON', async () => {
    const dir = copyOfBundle();
    writeFileSync(path.join(dir, 'metadata/manifest.json'), '{"name": ');
    await expect(readBundle(dir)).rejects.toMatchObject({
      code: 'INVALID_MANIFEST',
      message: expect.stringContaining('not valid JSON'),
    });
  });

  it('rejects artifact uris and file paths that climb out of the bundle', async () => {
    for (const uri of ['../../etc/passwd', './models/../../x.gguf', '/etc/passwd', 'models\\..\\x.gguf']) {
      const dir = copyOfBundle();
      editManifest(dir, (value) => {
        (value.artifacts as Array<{ uri: string }>)[0].uri = uri;
      });
      await expect(readBundle(dir)).rejects.toMatchObject({ code: 'PATH_ESCAPE', details: { path: uri } });
    }
    const dir = copyOfBundle();
    editManifest(dir, (value) => {
      (value.files as Array<{ path: string }>)[0].path = 'deploy/../../../home/x';
    });
    await expect(readBundle(dir)).rejects.toMatchObject({ code: 'PATH_ESCAPE' });
  });

  it('lists schema violations by field', async () => {
    const dir = copyOfBundle();
    editManifest(dir, (value) => {
      value.schema_version = '1';
      delete value.architecture;
      (value.artifacts as Array<{ sha256: string }>)[0].sha256 = 'xyz';
      value.surprise = true;
    });
    const failure = (await readBundle(dir).catch((error: unknown) => error)) as {
      code: string;
      message: string;
      details: { problems: string[] };
    };
    expect(failure.code).toBe('INVALID_MANIFEST');
    expect(failure.details.problems).toEqual(
      expect.arrayContaining([
        "(top level) must have required property 'architecture'",
        '(top level) must NOT have additional properties (surprise)',
        '/schema_version must be equal to constant',
        '/artifacts/0/sha256 must match pattern "^[0-9a-f]{64}$"',
      ]),
    );
  });

  it('rejects a runtime.json that serves a model the manifest does not list', async () => {
    const dir = copyOfBundle();
    const file = path.join(dir, 'metadata/runtime.json');
    writeFileSync(file, readFileSync(file, 'utf8').replace(modelPath, 'models/other.gguf'));
    await expect(readBundle(dir)).rejects.toMatchObject({
      code: 'INVALID_MANIFEST',
      message: expect.stringContaining('./models/other.gguf'),
    });
  });
});
