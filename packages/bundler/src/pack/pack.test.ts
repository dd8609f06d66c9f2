import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { serializeImatrix } from '@alki/quantizer';
import { writeTestGguf } from '../__fixtures__/test-gguf.js';
import { BundlerError, pack, readBundle, verifyBundle, type PackOptions } from '../index.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'alki-pack-'));
const source = path.join(work, 'tiny.gguf');
const bigSource = path.join(work, 'big.gguf');
const EPOCH = 1_700_000_000;

beforeAll(async () => {
  await writeTestGguf(source, { name: 'Tiny Test', license: 'apache-2.0', fileType: 0 });
  // About 40 MiB, five copy chunks: long enough to interrupt mid-copy.
  await writeTestGguf(bigSource, { name: 'Big Test', fileType: 0, paddingFloats: 10 * 1024 * 1024 });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function options(out: string, extra: Partial<PackOptions> = {}): PackOptions {
  return { source, out, sourceDateEpoch: EPOCH, ...extra };
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function tree(root: string, relative = ''): string[] {
  return readdirSync(path.join(root, relative), { withFileTypes: true }).flatMap((entry) => {
    const child = relative ? `${relative}/${entry.name}` : entry.name;
    return entry.isDirectory() ? tree(root, child) : [child];
  });
}

function siblingsOf(out: string): string[] {
  return readdirSync(path.dirname(out)).filter((name) => name.startsWith(`.${path.basename(out)}.`));
}

describe('pack from a local GGUF', () => {
  it('writes the bundle layout: models, metadata and deploy files', async () => {
    const out = path.join(work, 'layout');
    await pack(options(out));
    expect(tree(out).sort()).toEqual([
      'deploy/compose/compose.yaml',
      'deploy/docker/Dockerfile',
      'deploy/helm/alki-tiny-test/Chart.yaml',
      'deploy/helm/alki-tiny-test/templates/NOTES.txt',
      'deploy/helm/alki-tiny-test/templates/_helpers.tpl',
      'deploy/helm/alki-tiny-test/templates/deployment.yaml',
      'deploy/helm/alki-tiny-test/templates/service.yaml',
      'deploy/helm/alki-tiny-test/templates/trust-policy.yaml',
      'deploy/helm/alki-tiny-test/values.schema.json',
      'deploy/helm/alki-tiny-test/values.yaml',
      'deploy/k3s/deployment.yaml',
      'deploy/k3s/service.yaml',
      'deploy/podman/alki-tiny-test.container',
      'deploy/systemd/alki-tiny-test.service',
      'metadata/LICENSE.txt',
      'metadata/README.md',
      'metadata/manifest.json',
      'metadata/runtime.json',
      'metadata/sbom.spdx.json',
      'models/tiny-test-f32.gguf',
    ]);
    // The README's quick start names the chart folder that is there.
    expect(readFileSync(path.join(out, 'metadata/README.md'), 'utf8')).toContain(
      '`helm install alki-tiny-test deploy/helm/alki-tiny-test`',
    );
  });

  it('records the model facts, hashes and source in the manifest, and readBundle accepts it', async () => {
    const out = path.join(work, 'facts');
    const result = await pack(options(out));
    const { manifest, runtime } = await readBundle(out);
    expect(manifest).toEqual(result.manifest);
    expect(manifest).toMatchObject({
      schema_version: 1,
      name: 'Tiny Test',
      slug: 'tiny-test',
      artifacts: [
        {
          quant: 'F32',
          uri: './models/tiny-test-f32.gguf',
          sha256: sha256(source),
          size: statSync(source).size,
          file_type: 'ALL_F32',
        },
      ],
      defaults: { ctx: 256, threads: 'auto', ngl: 'auto', parallel: 4 },
      template: null,
      license: 'apache-2.0',
      architecture: 'llama',
      parameter_count: 8 * 3 + 8,
      context_length: 256,
      source: { kind: 'local-gguf', repo: 'tiny.gguf', revision: null, files: ['tiny.gguf'] },
      created: '2023-11-14T22:13:20Z',
    });
    expect(manifest.version).toBe(`2023-11-14.${sha256(source).slice(0, 8)}`);
    expect(runtime).toEqual({
      schema_version: 1,
      runtime: 'llama.cpp',
      model: './models/tiny-test-f32.gguf',
      server: { host: '0.0.0.0', port: 8080, api: true },
      args: { ctx: 256, threads: 'auto', ngl: 'auto', parallel: 4 },
      health: { path: '/health', timeout_s: 5 },
    });
    expect(manifest.files.map((f) => f.path)).toContain('metadata/sbom.spdx.json');
    for (const file of manifest.files) expect(sha256(path.join(out, file.path))).toBe(file.sha256);
    expect((await verifyBundle(out)).ok).toBe(true);
  });

  it('gives byte-identical bundles, file times included, for the same inputs', async () => {
    const first = path.join(work, 'same-1');
    const second = path.join(work, 'same-2');
    await pack(options(first, { name: 'same' }));
    await pack(options(second, { name: 'same', link: true }));
    const files = tree(first).sort();
    expect(tree(second).sort()).toEqual(files);
    for (const file of files) {
      expect(sha256(path.join(second, file))).toBe(sha256(path.join(first, file)));
      expect(statSync(path.join(second, file)).mtimeMs).toBe(EPOCH * 1000);
    }
  });

  it('dates the bundle from SOURCE_DATE_EPOCH in the environment, else from the source file', async () => {
    const fromEnv = await pack({
      source,
      out: path.join(work, 'env-date'),
      env: { SOURCE_DATE_EPOCH: '86400' },
    });
    expect(fromEnv.manifest.created).toBe('1970-01-02T00:00:00Z');
    const fromFile = await pack({ source, out: path.join(work, 'file-date'), env: {} });
    expect(fromFile.manifest.created).toBe(
      `${new Date(Math.floor(statSync(source).mtimeMs / 1000) * 1000).toISOString().slice(0, 19)}Z`,
    );
  });

  it('uses --name, --context-size, --parallel and --quantize when they agree with the file', async () => {
    const result = await pack(
      options(path.join(work, 'named'), {
        name: 'My Model 0.6B',
        contextSize: 128,
        parallel: 2,
        quantize: ['f32'],
      }),
    );
    expect(result.manifest.slug).toBe('my-model-0-6b');
    expect(result.manifest.artifacts[0].uri).toBe('./models/my-model-0-6b-f32.gguf');
    expect(result.runtime.args).toMatchObject({ ctx: 128, parallel: 2 });
    expect(result.manifest.defaults).toMatchObject({ ctx: 128, parallel: 2 });
    expect(result.notes).toEqual([]);
    const beyond = await pack(options(path.join(work, 'beyond'), { contextSize: 1024 }));
    expect(beyond.notes).toEqual([
      'The context size 1024 is larger than the 256 tokens the model was trained on; expect worse answers past that.',
    ]);
  });

  it('quantizes an F32 GGUF into each requested quant, one model file each', async () => {
    const result = await pack(options(path.join(work, 'quants'), { quantize: ['f32', 'Q8_0'] }));
    expect(result.manifest.artifacts.map((a) => [a.quant, a.uri, a.file_type])).toEqual([
      ['F32', './models/tiny-test-f32.gguf', 'ALL_F32'],
      ['Q8_0', './models/tiny-test-q8_0.gguf', 'MOSTLY_Q8_0'],
    ]);
    expect(result.runtime.model).toBe('./models/tiny-test-f32.gguf');
    expect((await verifyBundle(result.dir)).ok).toBe(true);
    expect(readdirSync(work).filter((name) => name.startsWith('.'))).toEqual([]);
  });

  it('quantizes with --imatrix and records its sha256 and texts in the manifest and the SBOM', async () => {
    const imatrixFile = path.join(work, 'tiny.imatrix');
    // An entry for the one matrix the fixture has (token_embd.weight, rows of 8).
    const bytes = serializeImatrix({
      format: 'gguf',
      entries: new Map([
        [
          'token_embd.weight',
          { sums: Float32Array.from({ length: 8 }, (_, i) => i + 1), counts: Float64Array.of(3) },
        ],
      ]),
      datasets: ['calibration.txt'],
      chunkCount: 3,
      chunkSize: 512,
    });
    writeFileSync(imatrixFile, bytes);
    const result = await pack(
      options(path.join(work, 'with-imatrix'), { quantize: ['f32', 'Q8_0'], imatrix: imatrixFile }),
    );
    const record = {
      file: 'tiny.imatrix',
      sha256: createHash('sha256').update(bytes).digest('hex'),
      size: bytes.length,
      format: 'gguf',
      chunks: 3,
      datasets: ['calibration.txt'],
      quants: ['Q8_0'],
    };
    expect(result.manifest.imatrix).toEqual(record);
    expect((await readBundle(result.dir)).manifest.imatrix).toEqual(record);
    const sbom = JSON.parse(readFileSync(path.join(result.dir, 'metadata/sbom.spdx.json'), 'utf8')) as {
      packages: Array<{ SPDXID: string; name: string; packageFileName?: string; checksums?: unknown[] }>;
      relationships: Array<{ spdxElementId: string; relationshipType: string; relatedSpdxElement: string }>;
    };
    const matrix = sbom.packages.find((p) => p.name === 'tiny.imatrix')!;
    expect(matrix.checksums).toEqual([{ algorithm: 'SHA256', checksumValue: record.sha256 }]);
    const q8 = sbom.packages.find((p) => p.packageFileName === './models/tiny-test-q8_0.gguf')!;
    expect(sbom.relationships.filter((r) => r.relatedSpdxElement === matrix.SPDXID)).toEqual([
      { spdxElementId: q8.SPDXID, relationshipType: 'GENERATED_FROM', relatedSpdxElement: matrix.SPDXID },
    ]);
    expect((await verifyBundle(result.dir)).ok).toBe(true);
  });

  it('refuses a damaged or missing --imatrix before resolving the source, and one with nothing to quantize', async () => {
    const damaged = path.join(work, 'damaged.imatrix');
    writeFileSync(damaged, 'GGUF, but not really');
    await expect(
      pack(
        options(path.join(work, 'bad-imatrix'), {
          quantize: ['Q8_0'],
          imatrix: damaged,
          source: 'nowhere/x',
        }),
      ),
    ).rejects.toMatchObject({ code: 'IMATRIX_INVALID' });
    await expect(
      pack(
        options(path.join(work, 'no-imatrix'), { quantize: ['Q8_0'], imatrix: path.join(work, 'absent') }),
      ),
    ).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringContaining('Cannot read the importance matrix'),
    });
    const good = path.join(work, 'tiny.imatrix');
    await expect(pack(options(path.join(work, 'unused-imatrix'), { imatrix: good }))).rejects.toThrow(
      '--imatrix was given, but this pack quantized nothing.',
    );
    expect(existsSync(path.join(work, 'unused-imatrix'))).toBe(false);
  });

  it('keeps a name with quotes, $, % and braces as data everywhere', async () => {
    const name = `it's "evil" $HOME %n {{y}} \\ end`;
    const result = await pack(options(path.join(work, 'hostile'), { name }));
    expect(result.manifest.name).toBe(name);
    expect(result.manifest.slug).toBe('it-s-evil-home-n-y-end');
    expect((await readBundle(result.dir)).manifest.name).toBe(name);
    expect((await verifyBundle(result.dir)).ok).toBe(true);
    const runtime = JSON.parse(readFileSync(path.join(result.dir, 'metadata/runtime.json'), 'utf8')) as {
      model: string;
    };
    expect(runtime.model).toBe('./models/it-s-evil-home-n-y-end-f32.gguf');
  });

  it('refuses an existing destination without force, and replaces a bundle with force', async () => {
    const out = path.join(work, 'replace');
    const first = await pack(options(out));
    await expect(pack(options(out, { name: 'other' }))).rejects.toMatchObject({
      code: 'DESTINATION_EXISTS',
      category: 'usage',
    });
    expect((await readBundle(out)).manifest).toEqual(first.manifest);
    const second = await pack(options(out, { name: 'other', force: true }));
    expect(second.replaced).toBe(true);
    expect((await readBundle(out)).manifest.name).toBe('other');
    expect(siblingsOf(out)).toEqual([]);
  });

  it('never replaces a directory that is not a bundle, even with force', async () => {
    const out = path.join(work, 'not-a-bundle');
    mkdirSync(out);
    writeFileSync(path.join(out, 'precious.txt'), 'keep me');
    await expect(pack(options(out, { force: true }))).rejects.toMatchObject({ code: 'DESTINATION_EXISTS' });
    expect(readFileSync(path.join(out, 'precious.txt'), 'utf8')).toBe('keep me');
  });

  it('runs the check on the complete bundle before it is renamed into place', async () => {
    const out = path.join(work, 'checked');
    const seen: Array<{ dir: string; problems: number; destinationExists: boolean }> = [];
    const result = await pack(
      options(out, {
        check: async (staged) => {
          const report = await verifyBundle(staged.dir);
          seen.push({
            dir: staged.dir,
            problems: report.problems.length,
            destinationExists: existsSync(out),
          });
          expect(staged.manifest.artifacts[0].uri).toBe('./models/tiny-test-f32.gguf');
        },
      }),
    );
    expect(seen).toEqual([
      {
        dir: expect.stringContaining(`.checked.alki-tmp-${process.pid}-`),
        problems: 0,
        destinationExists: false,
      },
    ]);
    expect(result.dir).toBe(out);
    expect(siblingsOf(out)).toEqual([]);
  });

  it('leaves nothing, and keeps an old bundle, when the check fails', async () => {
    const out = path.join(work, 'check-fails');
    const failing = () =>
      Promise.reject(new BundlerError('INVALID_INPUT', 'the model does not generate', { category: 'check' }));
    await expect(pack(options(out, { check: failing }))).rejects.toMatchObject({
      message: 'the model does not generate',
    });
    expect(existsSync(out)).toBe(false);
    const old = await pack(options(out));
    await expect(pack(options(out, { name: 'newer', force: true, check: failing }))).rejects.toMatchObject({
      category: 'check',
    });
    expect((await readBundle(out)).manifest).toEqual(old.manifest);
    expect(siblingsOf(out)).toEqual([]);
  });

  it('names --out, not a hidden staging path or the source, when the disk is full', async () => {
    const out = path.join(work, 'disk-full');
    // Every write to /dev/full fails with a real ENOSPC.
    const fillDisk = () => writeFile('/dev/full', 'model bytes');
    const error = await pack(options(out, { check: fillDisk })).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'WRITE_FAILED',
      category: 'environment',
      message: `Cannot write the bundle to ${out}: the disk is full.`,
      details: { path: out, code: 'ENOSPC' },
    });
    expect(existsSync(out)).toBe(false);
    expect(siblingsOf(out)).toEqual([]);
  });

  it('leaves nothing when aborted mid-copy into a new destination', async () => {
    const out = path.join(work, 'abort-new');
    const controller = new AbortController();
    const events: number[] = [];
    const packing = pack({
      source: bigSource,
      out,
      sourceDateEpoch: EPOCH,
      copyStrategy: 'stream',
      signal: controller.signal,
      onProgress: (event) => {
        if (event.phase !== 'copy' || event.done === undefined) return;
        events.push(event.done);
        controller.abort(new Error('test abort'));
      },
    });
    await expect(packing).rejects.toMatchObject({ code: 'ABORTED' });
    expect(events[0]).toBeLessThan(statSync(bigSource).size);
    expect(existsSync(out)).toBe(false);
    expect(siblingsOf(out)).toEqual([]);
  });

  it('leaves nothing when aborted during the hash pass of a cloned copy (the default)', async () => {
    const out = path.join(work, 'abort-clone');
    const controller = new AbortController();
    await expect(
      pack({
        source: bigSource,
        out,
        signal: controller.signal,
        onProgress: (event) => event.phase === 'copy' && controller.abort(new Error('test abort')),
      }),
    ).rejects.toMatchObject({ code: 'ABORTED' });
    expect(existsSync(out)).toBe(false);
    expect(siblingsOf(out)).toEqual([]);
  });

  it('keeps the old bundle when a forced replacement is aborted mid-copy', async () => {
    const out = path.join(work, 'abort-old');
    const old = await pack(options(out));
    const controller = new AbortController();
    await expect(
      pack({
        source: bigSource,
        out,
        force: true,
        copyStrategy: 'stream',
        signal: controller.signal,
        onProgress: (event) => event.phase === 'copy' && controller.abort(new Error('test abort')),
      }),
    ).rejects.toBeInstanceOf(BundlerError);
    expect((await readBundle(out)).manifest).toEqual(old.manifest);
    expect((await verifyBundle(out)).ok).toBe(true);
    expect(siblingsOf(out)).toEqual([]);
  });

  it('explains a missing source, an unusable name and an impossible quantization', async () => {
    await expect(
      pack(options(path.join(work, 'x1'), { source: path.join(work, 'nope.gguf') })),
    ).rejects.toMatchObject({ code: 'TARGET_NOT_FOUND' });
    await expect(pack(options(path.join(work, 'x2'), { name: 'bad\nname' }))).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      category: 'usage',
    });
    await expect(pack(options(path.join(work, 'x3'), { name: '???' }))).rejects.toThrow(
      /no letters or digits/,
    );
    await expect(pack(options(path.join(work, 'x4'), { quantize: ['Q3_X'] }))).rejects.toThrow(
      /Alki cannot produce Q3_X/,
    );
    await expect(pack(options(path.join(work, 'x6'), { quantize: ['F16'] }))).rejects.toThrow(
      /cannot be turned into F16/,
    );
    await expect(pack(options(path.join(work, 'x5'), { quantize: ['Q4 K M'] }))).rejects.toThrow(
      /not a quantization name/,
    );
    expect(existsSync(path.join(work, 'x1')) || existsSync(path.join(work, 'x4'))).toBe(false);
  });

  it('takes a missing dir/model.gguf for a local file that is not there, not a hub repo', async () => {
    // A hub that refuses connections: asking it would be a network failure.
    const packing = pack(
      options(path.join(work, 'x7'), { source: 'models/nope.gguf', hubUrl: 'http://127.0.0.1:9' }),
    );
    await expect(packing).rejects.toMatchObject({
      code: 'TARGET_NOT_FOUND',
      category: 'input',
      message: 'models/nope.gguf does not exist.',
    });
  });

  it('refuses a named pipe as the source before opening it, and a URL it cannot pack', async () => {
    const fifo = path.join(work, 'pipe.gguf');
    execFileSync('mkfifo', [fifo]);
    await expect(pack(options(path.join(work, 'x9'), { source: fifo }))).rejects.toMatchObject({
      code: 'NOT_A_REGULAR_FILE',
      category: 'input',
    });
    await expect(
      pack(options(path.join(work, 'x9'), { source: 'https://example.com/model.gguf' })),
    ).rejects.toMatchObject({ code: 'UNSUPPORTED_TARGET', category: 'input' });
  });

  it('refuses a context size that is not a positive whole number before resolving the source', async () => {
    // The source does not exist: had it been resolved first, this would be TARGET_NOT_FOUND.
    const missing = path.join(work, 'never-read.gguf');
    await expect(
      pack(options(path.join(work, 'x8'), { source: missing, contextSize: Number('abc') })),
    ).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      category: 'usage',
      message: '--context-size must be a positive whole number.',
    });
    await expect(pack(options(path.join(work, 'x8'), { source: missing, contextSize: -5 }))).rejects.toThrow(
      '--context-size must be a positive whole number, not -5.',
    );
    await expect(
      pack(options(path.join(work, 'x8'), { source: missing, contextSize: 1.5 })),
    ).rejects.toMatchObject({ category: 'usage' });
  });

  it('records --ngl, a layer count or auto, and refuses anything else', async () => {
    const layers = await pack(options(path.join(work, 'ngl-12'), { ngl: 12 }));
    expect(layers.runtime.args.ngl).toBe(12);
    await expect(
      pack(
        options(path.join(work, 'x10'), { source: path.join(work, 'never-read.gguf'), ngl: Number('all') }),
      ),
    ).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: '--ngl must be auto or a whole number of layers.',
    });
  });

  it('refuses a slot count below 1 or above 256 before resolving the source', async () => {
    const missing = path.join(work, 'never-read.gguf');
    for (const parallel of [0, 257, 2.5])
      await expect(pack(options(path.join(work, 'x9'), { source: missing, parallel }))).rejects.toMatchObject(
        {
          code: 'INVALID_INPUT',
          message: `--parallel must be a positive whole number from 1 to 256, not ${parallel}.`,
        },
      );
  });

  it('explains that --link needs one file system, and leaves nothing', async () => {
    // /dev/shm is a tmpfs, a different file system from the temp directory.
    const shm = mkdtempSync(path.join('/dev/shm', 'alki-link-'));
    try {
      const elsewhere = path.join(shm, 'tiny.gguf');
      await writeTestGguf(elsewhere, { name: 'elsewhere' });
      const out = path.join(work, 'linked');
      await expect(pack(options(out, { source: elsewhere, link: true }))).rejects.toMatchObject({
        code: 'INVALID_INPUT',
        category: 'usage',
        message: expect.stringContaining('different file systems'),
      });
      expect(existsSync(out)).toBe(false);
    } finally {
      rmSync(shm, { recursive: true, force: true });
    }
  });

  it('fails clearly on a file that is not a GGUF', async () => {
    const bogus = path.join(work, 'bogus.gguf');
    writeFileSync(bogus, 'this is not a gguf file at all, just text');
    const failure = await pack(options(path.join(work, 'bogus-out'), { source: bogus })).catch(
      (error: unknown) => error,
    );
    expect(failure).toMatchObject({ category: 'input' });
    expect(existsSync(path.join(work, 'bogus-out'))).toBe(false);
  });
});
