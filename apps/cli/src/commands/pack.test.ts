import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { cachedVisionGgufs, generateCheckpoint, startFakeHub, type FakeHub } from '@alki/testkit';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getLlama, LlamaCompletion } from 'node-llama-cpp';
import { EXIT_CODES } from '../exit-codes.js';
import { runCli } from '../test-support.js';

// `alki pack` and `alki verify` end to end, in-process: a safetensors
// checkpoint served by the fake hub (through the real @huggingface/hub),
// converted and quantized, loaded and run by node-llama-cpp, verified, then
// tampered with.
let work: string;
let hub: FakeHub;
const saved = { ...process.env };

beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'alki-cli-pack-'));
  const checkpoint = await generateCheckpoint({ family: 'llama' });
  hub = await startFakeHub({
    repos: [{ id: 'acme/tiny-llama', dir: checkpoint, cardData: { license: 'mit' } }],
  });
  process.env.HF_ENDPOINT = hub.url;
  process.env.HF_HUB_CACHE = path.join(work, 'hub-cache');
  process.env.SOURCE_DATE_EPOCH = '1700000000';
  delete process.env.HF_TOKEN;
}, 300_000);

afterAll(async () => {
  for (const key of ['HF_ENDPOINT', 'HF_HUB_CACHE', 'SOURCE_DATE_EPOCH', 'HF_TOKEN']) {
    if (saved[key] === undefined) delete process.env[key];
    else process.env[key] = saved[key];
  }
  await hub?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

interface PackJson {
  dir: string;
  manifest: {
    artifacts: Array<{ quant: string; uri: string }>;
    source: { kind: string; repo: string; revision: string };
  };
}

describe('alki pack <org/name> --quantize Q4_K_M,Q8_0, then alki verify', () => {
  let bundle: string;
  let packed: PackJson;

  beforeAll(async () => {
    bundle = path.join(work, 'tiny-llama');
    const run = await runCli([
      'pack',
      'acme/tiny-llama',
      '--quantize',
      'Q4_K_M,Q8_0',
      '--out',
      bundle,
      '--context-size',
      '256',
      '--json',
    ]);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    packed = JSON.parse(run.stdout) as PackJson;
  }, 600_000);

  it('writes one model per quant, from the hub commit', () => {
    expect(packed.dir).toBe(bundle);
    expect(packed.manifest.artifacts.map((a) => a.quant)).toEqual(['Q4_K_M', 'Q8_0']);
    expect(packed.manifest.source).toEqual(
      expect.objectContaining({
        kind: 'hub',
        repo: 'acme/tiny-llama',
        revision: hub.commitOf('acme/tiny-llama'),
      }),
    );
  });

  it('gives models that both load and generate in node-llama-cpp', async () => {
    const llama = await getLlama({ gpu: false, build: 'never' });
    for (const artifact of packed.manifest.artifacts) {
      const model = await llama.loadModel({ modelPath: path.join(bundle, artifact.uri) });
      const context = await model.createContext({ contextSize: 128, threads: 2 });
      try {
        const completion = new LlamaCompletion({ contextSequence: context.getSequence() });
        const tokens: number[] = [];
        await completion.generateCompletion('The capital of France is', {
          maxTokens: 4,
          onToken: (chunk) => tokens.push(...chunk),
        });
        expect(tokens.length).toBeGreaterThan(0);
      } finally {
        await context.dispose();
        await model.dispose();
      }
    }
  }, 120_000);

  it('passes alki verify, and fails it naming the file once one byte is flipped', async () => {
    const ok = await runCli(['verify', bundle]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^ok tiny-llama /);

    const model = path.join(bundle, packed.manifest.artifacts[1].uri);
    const bytes = readFileSync(model);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    writeFileSync(model, bytes);
    const bad = await runCli(['verify', bundle]);
    expect(bad.code).toBe(EXIT_CODES.checkFailed);
    // One line per problem, naming the file once, with what was seen against what the manifest says.
    expect(bad.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^tampered {5}models\/tiny-llama-q8_0\.gguf has SHA-256 [0-9a-f]{64}, the manifest says [0-9a-f]{64}\.$/,
      ),
    ]);
    expect(bad.stderr).toContain('failed verification: 1 problem (models/tiny-llama-q8_0.gguf)');

    const json = await runCli(['verify', bundle, '--json']);
    expect(json.code).toBe(1);
    expect(
      (JSON.parse(json.stdout) as { ok: boolean; problems: Array<{ path: string; kind: string }> }).problems,
    ).toEqual([expect.objectContaining({ path: 'models/tiny-llama-q8_0.gguf', kind: 'tampered' })]);
  });
});

describe('alki pack --demo', () => {
  it('generates, converts, quantizes, validates and packs the demo offline', async () => {
    const out = path.join(work, 'demo');
    const run = await runCli(['pack', '--demo', '--out', out, '--json']);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as PackJson & {
      validation: Array<{ checks: Array<{ name: string; status: string }> }>;
    };
    expect(result.manifest.source.kind).toBe('demo');
    expect(result.validation).toHaveLength(2);
    for (const report of result.validation) {
      expect(report.checks.filter((c) => c.status === 'fail')).toEqual([]);
      expect(report.checks.map((c) => c.name)).toContain('generation');
    }
    expect((await runCli(['verify', out])).code).toBe(0);
  }, 300_000);

  it('validates before the bundle is renamed into place, so Ctrl-C during validation leaves nothing', async () => {
    const out = path.join(work, 'demo-interrupted');
    // The manifest is the last file written into the hidden staging
    // directory; validation starts right after it and takes seconds (a child
    // process loads and runs each model), so a second later it is under way.
    const staged = () =>
      readdirSync(work).some(
        (name) =>
          name.startsWith('.demo-interrupted.alki-tmp-') &&
          existsSync(path.join(work, name, 'metadata', 'manifest.json')),
      );
    const poll = setInterval(() => {
      if (!staged()) return;
      clearInterval(poll);
      setTimeout(() => process.emit('SIGINT', 'SIGINT'), 1000);
    }, 10);
    try {
      const run = await runCli(['pack', '--demo', '--out', out]);
      expect(run.code).toBe(EXIT_CODES.interrupted);
      expect(run.stderr).toContain('Validating Q4_K_M');
    } finally {
      clearInterval(poll);
    }
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(work).filter((name) => name.startsWith('.demo-interrupted.'))).toEqual([]);
  }, 300_000);

  it('ends with the next commands to run, quoting a path a shell would split', async () => {
    const out = path.join(work, "it's a demo");
    const run = await runCli(['pack', '--demo', '--out', out]);
    expect(run.code).toBe(0);
    const shown = path.relative(process.cwd(), out).replace(/'/g, `'\\''`);
    expect(run.stderr.trim().split('\n').at(-1)).toBe(
      `Next: alki verify '${shown}', then alki serve '${shown}'`,
    );
  }, 300_000);
});

describe('alki pack errors', () => {
  it('refuses an existing destination without --force (exit 2), and keeps it', async () => {
    const out = path.join(work, 'taken');
    mkdirSync(out);
    writeFileSync(path.join(out, 'keep.txt'), 'mine');
    const run = await runCli(['pack', '--demo', '--out', out]);
    expect(run.code).toBe(EXIT_CODES.usage);
    expect(run.stderr).toContain(`error: ${out} already exists.`);
    expect(run.stderr).toContain('hint: Choose another --out, or pass --force');
    expect(readFileSync(path.join(out, 'keep.txt'), 'utf8')).toBe('mine');
  });

  it('says what a source that does not exist should be (exit 3)', async () => {
    const run = await runCli(['pack', './no/such/model.gguf', '--out', path.join(work, 'none')]);
    expect(run.code).toBe(EXIT_CODES.inputInvalid);
    expect(run.stderr).toContain('error: ./no/such/model.gguf does not exist.');
    const folder = await runCli(['pack', './no/such/folder', '--out', path.join(work, 'none')]);
    expect(folder.code).toBe(EXIT_CODES.inputInvalid);
    // A path that cannot be a repo id (it starts with `.`) is a local path that is not there.
    expect(folder.stderr).toContain('error: ./no/such/folder does not exist.');
    const word = await runCli(['pack', 'no-such-model', '--out', path.join(work, 'none')]);
    expect(word.code).toBe(EXIT_CODES.inputInvalid);
    expect(word.stderr).toContain(
      'error: no-such-model is neither an existing file or directory nor a hub repo id (org/name).',
    );
    expect(existsSync(path.join(work, 'none'))).toBe(false);
  });

  it('explains a hub repo that does not exist (exit 3), and a hub that is down (exit 4)', async () => {
    const run = await runCli(['pack', 'acme/missing', '--out', path.join(work, 'missing'), '--json']);
    expect(run.code).toBe(EXIT_CODES.inputInvalid);
    expect(JSON.parse(run.stdout)).toMatchObject({
      error: { category: 'input', message: expect.stringContaining('acme/missing') },
    });
    hub.inject({ kind: 'status', status: 503, times: 50 });
    const down = await runCli(['pack', 'acme/other', '--out', path.join(work, 'down'), '--json']);
    expect(down.code).toBe(EXIT_CODES.network);
  });

  it('needs a source or --demo, not both (exit 2)', async () => {
    const none = await runCli(['pack']);
    expect({ code: none.code, stderr: none.stderr }).toEqual({
      code: EXIT_CODES.usage,
      stderr: expect.stringContaining('Name a source to pack, or pass --demo.'),
    });
    expect((await runCli(['pack', 'x.gguf', '--demo'])).code).toBe(EXIT_CODES.usage);
  });

  it('says a directory without a manifest is not a bundle (exit 3)', async () => {
    const run = await runCli(['verify', work]);
    expect(run.code).toBe(EXIT_CODES.inputInvalid);
    expect(run.stderr).toContain('is not an Alki bundle: metadata/manifest.json is missing');
  });

  it('packs a vision projector with --mmproj, marks it in the listing, and names it in runtime.json and the unit', async () => {
    const { model, mmproj } = await cachedVisionGgufs();
    const out = path.join(work, 'vision');
    const run = await runCli(['pack', model, '--mmproj', mmproj, '--name', 'vlm', '--out', out]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /\n {2}F16 {6}\.\/models\/mmproj-vlm-f16\.gguf \d+ bytes sha256:[0-9a-f]{64} \(vision projector\)$/m,
    );
    expect(readFileSync(path.join(out, 'deploy/systemd/alki-vlm.service'), 'utf8')).toContain(
      ' --mmproj /opt/alki/vlm/models/mmproj-vlm-f16.gguf ',
    );
    const bundle = JSON.parse(readFileSync(path.join(out, 'metadata/runtime.json'), 'utf8')) as {
      mmproj?: string;
    };
    expect(bundle.mmproj).toBe('./models/mmproj-vlm-f16.gguf');
  }, 300_000);
});
