// Vision-language bundles: the projector (mmproj) is packed beside the model,
// recorded as an artifact with role mmproj (bundle format 2), and every way
// the bundle is served gets --mmproj. The GGUFs are the Gemma 3 vision
// fixture converted by @alki/converter, served by the testkit's fake hub.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { cachedVisionGgufs, generateCheckpoint, startFakeHub, type FakeHub } from '@alki/testkit';
import { getMetadata, openGguf } from '@alki/gguf-reader';
import { linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeTestGguf } from '../__fixtures__/test-gguf.js';
import { pack, readBundle, verifyBundle, type PackOptions } from '../index.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'alki-pack-vision-'));
let hub: FakeHub;
let vision: Awaited<ReturnType<typeof cachedVisionGgufs>>;

beforeAll(async () => {
  vision = await cachedVisionGgufs();
  // The repo as llama.cpp's converters publish one: the model, and the
  // projector in two types (llama.cpp picks the one closest to the model's).
  const repo = path.join(work, 'repo');
  mkdirSync(repo);
  linkSync(vision.model, path.join(repo, 'gemma3-vlm-F16.gguf'));
  linkSync(vision.mmproj, path.join(repo, 'mmproj-F16.gguf'));
  linkSync(vision.mmproj, path.join(repo, 'mmproj-F32.gguf'));
  hub = await startFakeHub({
    repos: [{ id: 'acme/gemma3-vlm-GGUF', dir: repo, cardData: { license: 'gemma' } }],
  });
}, 300_000);
afterAll(async () => {
  await hub?.stop();
  rmSync(work, { recursive: true, force: true });
});

let runs = 0;
function options(source: string, extra: Partial<PackOptions> = {}): PackOptions {
  return {
    source,
    out: path.join(work, `out-${runs}`),
    sourceDateEpoch: 1,
    hubUrl: hub.url,
    env: { HF_HUB_CACHE: path.join(work, `cache-${runs++}`) },
    ...extra,
  };
}

const read = (dir: string, file: string) => readFileSync(path.join(dir, file), 'utf8');

describe('pack of a hub repo that ships a vision projector', () => {
  it('packs the projector beside the model as a format 2 bundle whose every deploy config passes --mmproj', async () => {
    const result = await pack(options('acme/gemma3-vlm-GGUF', { name: 'gemma3-vlm' }));
    const projector = './models/mmproj-gemma3-vlm-f16.gguf';
    expect(result.manifest.schema_version).toBe(2);
    expect(result.manifest.artifacts.map((a) => [a.uri, a.quant, a.role])).toEqual([
      ['./models/gemma3-vlm-f16.gguf', 'F16', undefined],
      [projector, 'F16', 'mmproj'],
    ]);
    expect(result.manifest.source.files).toEqual(['gemma3-vlm-F16.gguf', 'mmproj-F16.gguf']);
    expect(result.runtime).toMatchObject({ schema_version: 2, mmproj: projector });
    expect(readFileSync(path.join(result.dir, projector))).toEqual(readFileSync(vision.mmproj));

    const dir = result.dir;
    const unit = read(dir, 'deploy/systemd/alki-gemma3-vlm.service');
    expect(unit).toContain(
      'ExecStart=/usr/local/bin/llama-server --model /opt/alki/gemma3-vlm/models/gemma3-vlm-f16.gguf --mmproj /opt/alki/gemma3-vlm/models/mmproj-gemma3-vlm-f16.gguf ',
    );
    expect(read(dir, 'deploy/k3s/deployment.yaml')).toContain(
      'args: ["--model", "/models/gemma3-vlm-f16.gguf", "--mmproj", "/models/mmproj-gemma3-vlm-f16.gguf",',
    );
    const dockerfile = read(dir, 'deploy/docker/Dockerfile');
    expect(dockerfile).toContain(
      'COPY ["models/mmproj-gemma3-vlm-f16.gguf", "/models/mmproj-gemma3-vlm-f16.gguf"]',
    );
    expect(dockerfile).toContain(
      'CMD ["--model", "/models/gemma3-vlm-f16.gguf", "--mmproj", "/models/mmproj-gemma3-vlm-f16.gguf", ',
    );
    expect(read(dir, 'metadata/README.md')).toContain(
      'llama-server --model ./models/gemma3-vlm-f16.gguf --mmproj ./models/mmproj-gemma3-vlm-f16.gguf',
    );
    const sbom = JSON.parse(read(dir, 'metadata/sbom.spdx.json')) as {
      packages: Array<Record<string, unknown>>;
    };
    expect(sbom.packages.find((p) => p.packageFileName === projector)).toMatchObject({
      SPDXID: 'SPDXRef-Package-mmproj-F16',
    });
    expect((await verifyBundle(dir)).ok).toBe(true);
    expect((await readBundle(dir)).runtime.mmproj).toBe(projector);
  });

  it('takes the projector an --mmproj glob picks, and none with --mmproj false', async () => {
    const chosen = await pack(options('acme/gemma3-vlm-GGUF', { mmproj: '*F32*' }));
    expect(chosen.manifest.source.files).toEqual(['gemma3-vlm-F16.gguf', 'mmproj-F32.gguf']);
    const alone = await pack(options('acme/gemma3-vlm-GGUF', { mmproj: false }));
    expect(alone.manifest.schema_version).toBe(1);
    expect(alone.manifest.artifacts).toHaveLength(1);
    expect(alone.runtime).not.toHaveProperty('mmproj');
    expect(read(alone.dir, 'deploy/docker/Dockerfile')).not.toContain('mmproj');
    await expect(pack(options('acme/gemma3-vlm-GGUF', { mmproj: '*Q8_0*' }))).rejects.toThrow(
      'No vision projector in acme/gemma3-vlm-GGUF matches "*Q8_0*". Its projectors are: mmproj-F16.gguf, mmproj-F32.gguf.',
    );
  });
});

describe('readBundle of a vision bundle', () => {
  it('refuses a runtime.json that serves the projector as the model, or loads a model as the projector', async () => {
    const { dir } = await pack(options('acme/gemma3-vlm-GGUF'));
    const file = path.join(dir, 'metadata/runtime.json');
    const runtime = JSON.parse(readFileSync(file, 'utf8')) as { model: string; mmproj: string };
    writeFileSync(file, JSON.stringify({ ...runtime, model: runtime.mmproj }));
    await expect(readBundle(dir)).rejects.toThrow(
      `metadata/runtime.json serves ${runtime.mmproj}, which the manifest does not list as a model.`,
    );
    writeFileSync(file, JSON.stringify({ ...runtime, mmproj: runtime.model }));
    await expect(readBundle(dir)).rejects.toThrow(
      `metadata/runtime.json loads the vision projector ${runtime.model}, which the manifest does not list as one (role mmproj).`,
    );
  });
});

describe('pack of a local GGUF with --mmproj', () => {
  it('packs the projector file given, and refuses a file that is not a projector or is not there', async () => {
    const result = await pack(options(vision.model, { mmproj: vision.mmproj }));
    expect(result.manifest.artifacts.map((a) => a.role ?? 'model')).toEqual(['model', 'mmproj']);
    expect(result.manifest.source.files).toEqual([path.basename(vision.model), path.basename(vision.mmproj)]);

    const notProjector = path.join(work, 'llama.gguf');
    await writeTestGguf(notProjector, { fileType: 0 });
    await expect(pack(options(vision.model, { mmproj: notProjector }))).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      category: 'input',
      message: 'llama.gguf is not a vision projector: its general.architecture is "llama", not "clip".',
    });
    await expect(pack(options(vision.model, { mmproj: path.join(work, 'nope.gguf') }))).rejects.toMatchObject(
      {
        code: 'TARGET_NOT_FOUND',
      },
    );
    await expect(pack(options(vision.model, { mmproj: vision.checkpoint }))).rejects.toThrow(
      `--mmproj ${vision.checkpoint} is not a .gguf file.`,
    );
  });
});

describe('pack of a vision-language checkpoint', () => {
  it('converts the vision projector with the model, at F16', async () => {
    const result = await pack(options(vision.checkpoint, { quantize: ['F16'], name: 'gemma3-vlm' }));
    const projector = result.manifest.artifacts[1];
    expect(projector).toMatchObject({ role: 'mmproj', quant: 'F16', file_type: 'MOSTLY_F16' });
    const header = await openGguf(path.join(result.dir, projector.uri));
    expect(getMetadata(header, 'general.architecture')).toBe('clip');
    expect(getMetadata(header, 'clip.projector_type')).toBe('gemma3');
    expect(result.notes[0]).toMatch(
      /^Converted Gemma3ForConditionalGeneration .*, and its vision projector\.$/,
    );
    expect((await verifyBundle(result.dir)).ok).toBe(true);

    const text = await pack(options(vision.checkpoint, { quantize: ['F16'], mmproj: false }));
    expect(text.manifest.artifacts).toHaveLength(1);
  }, 300_000);

  it('leaves a text-only checkpoint a format 1 bundle', async () => {
    const result = await pack(options(await generateCheckpoint({ family: 'gemma3' }), { quantize: ['F16'] }));
    expect(result.manifest.schema_version).toBe(1);
    expect(result.runtime.schema_version).toBe(1);
  }, 300_000);
});
