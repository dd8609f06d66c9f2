import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  cachedTinyLlamaGguf,
  cachedToolPath,
  checkQuadletContainer,
  generateQuadletUnit,
  freePort,
  nativeTools,
  podmanEnvironment,
  requireCommand,
  splitSystemdCommandLine,
  startProcess,
  validateCompose,
  waitForHttp,
  type PodmanEnvironment,
} from '@alki/testkit';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Deployment } from 'kubernetes-models/apps/v1';
import { ConfigMap, Service } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';
import type { BundleContent } from '../assemble/content.js';
import type { RuntimeAccelerator } from '../format/types.js';
import { buildRuntime } from '../assemble/runtime.js';
import { llamaServerArgs } from './llama-server-args.js';
import { deployData, renderDeployFiles, renderTwoStageFiles } from './render-deploy.js';

// A name that tries every way into the three formats: quotes, a newline that
// opens a new section or key, shell and systemd variables, specifiers
// (%z is not a valid one, so an unescaped one fails systemd-analyze),
// YAML indicators, Dockerfile continuations and template braces.
const HOSTILE =
  'evil "dq" \'sq\' \\ $HOME ${X} %n %z {{y}} {{{z}}} - key: value # c\n[Service]\nExecStartPre=/bin/rm -rf /\nRUN rm -rf / \\';

function content(name: string): BundleContent {
  return {
    name,
    slug: 'evil',
    version: '2025-01-01.abcdef12',
    created: '2025-01-01T00:00:00Z',
    artifacts: [
      { quant: 'Q8_0', uri: './models/evil-q8_0.gguf', sha256: 'a'.repeat(64), size: 300 * 1024 * 1024 },
    ],
    defaults: { ctx: 4096, threads: 2, ngl: 0 },
    // KV cache of 16 layers, 8 of 32 heads of a 2048 embedding: 2 x 16 x (2048 x 8 / 32) x 2 bytes per position.
    facts: {
      architecture: 'llama',
      parameterCount: 1000,
      contextLength: 4096,
      weightsBytes: 300 * 1024 * 1024,
      kvCacheBytesPerToken: 2 * 16 * 512 * 2,
    },
    source: { kind: 'hub', repo: 'acme/evil', revision: 'abc', files: [] },
    license: 'mit',
    alkiVersion: '0.1.0',
  };
}

const work = mkdtempSync(path.join(os.tmpdir(), 'alki-deploy-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// What `alki pack --profile` records from a calibration on a CUDA machine;
// the device name is hostile too, since a probe reports what the driver says.
const CUDA: RuntimeAccelerator = {
  backend: 'cuda',
  devices: ['NVIDIA GeForce RTX 4090'],
  vram_bytes: 24 * 1024 ** 3,
  cpu_architecture: 'x86_64',
  device: HOSTILE,
  source: 'probe',
};

function files(name: string, serverPath?: string, accelerator?: RuntimeAccelerator): Record<string, string> {
  const c = content(name);
  const runtime = { ...buildRuntime(c.artifacts[0], c.defaults), ...(accelerator ? { accelerator } : {}) };
  return Object.fromEntries(renderDeployFiles(c, runtime, { serverPath }).map((f) => [f.path, f.text]));
}

function expectedArgs(modelPath: string, name: string): string[] {
  return [
    '--model',
    modelPath,
    '--host',
    '0.0.0.0',
    '--port',
    '8080',
    // Four slots (the default) of the bundle's 4096 tokens each.
    '--ctx-size',
    '16384',
    '--parallel',
    '4',
    '--n-gpu-layers',
    '0',
    '--threads',
    '2',
    '--metrics',
    '--alias',
    name,
  ];
}

describe('the systemd unit', () => {
  let serverPath: string;
  beforeAll(async () => {
    requireCommand('systemd-analyze', 'the systemd unit test');
    serverPath = (await nativeTools()).paths['llama-server'];
  }, 900_000);

  function unitFile(name: string): string {
    const dir = mkdtempSync(path.join(work, 'unit-'));
    const file = path.join(dir, 'alki-evil.service');
    writeFileSync(file, files(name, serverPath)['deploy/systemd/alki-evil.service']);
    return file;
  }

  function analyze(file: string) {
    return spawnSync('systemd-analyze', ['verify', '--man=no', file], { encoding: 'utf8' });
  }

  it('passes systemd-analyze verify with no warning, for a plain and a hostile name', () => {
    for (const name of ['tiny', HOSTILE]) {
      const result = analyze(unitFile(name));
      expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
    }
  });

  it('names the calibrated accelerator in a comment, and still passes verify with a hostile device name', () => {
    const text = files('tiny', serverPath, CUDA)['deploy/systemd/alki-evil.service'];
    const comments = text.split('\n').filter((line) => line.startsWith('# Calibrated for cuda on evil'));
    expect(comments).toHaveLength(1);
    expect(comments[0]).toContain('NVIDIA GeForce RTX 4090');
    const file = unitFile('tiny');
    writeFileSync(file, text);
    const result = analyze(file);
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
    expect(text.split('\n').filter((line) => line === '[Service]')).toHaveLength(1);
    expect(text).not.toMatch(/^ExecStartPre/m);
  });

  it('is hardened and bounded', () => {
    const text = files('tiny', serverPath)['deploy/systemd/alki-evil.service'];
    for (const setting of [
      'DynamicUser=yes',
      'ProtectSystem=strict',
      'NoNewPrivileges=yes',
      'Restart=on-failure',
      'PrivateDevices=yes',
      'CapabilityBoundingSet=',
    ]) {
      expect(text.split('\n')).toContain(setting);
    }
    const { memoryLimitMiB, memoryRequestMiB } = deployData(
      content('tiny'),
      buildRuntime(content('tiny').artifacts[0], content('tiny').defaults),
    );
    // 300 MiB model + 4 slots x 2 x 16 layers x 4096 x (2048 x 8 / 32) x 2 bytes = 4 x 128 MiB KV cache + 256 MiB overhead.
    expect(memoryRequestMiB).toBe(300 + 4 * 128 + 256);
    expect(text).toContain(`MemoryMax=${memoryLimitMiB}M`);
  });

  it('passes a hostile name to llama-server as one literal argument, with nothing injected', () => {
    const text = files(HOSTILE, serverPath)['deploy/systemd/alki-evil.service'];
    const exec = text.split('\n').filter((line) => line.startsWith('ExecStart'));
    expect(exec).toHaveLength(1);
    expect(text).not.toMatch(/^ExecStartPre/m);
    expect(text.split('\n').filter((line) => line === '[Service]')).toHaveLength(1);
    expect(splitSystemdCommandLine(exec[0].slice('ExecStart='.length))).toEqual([
      serverPath,
      ...expectedArgs('/opt/alki/evil/models/evil-q8_0.gguf', HOSTILE),
    ]);
  });

  it('takes the API keys from a systemd credential, never from the unit itself', () => {
    const lines = files('tiny', serverPath)['deploy/systemd/alki-evil.service'].split('\n');
    expect(lines).toContain('LoadCredential=api-key:/etc/credstore/alki-evil.api-key');
    expect(lines).toContain('Environment=LLAMA_ARG_API_KEY_FILE=%d/api-key');
    expect(lines.find((line) => line.startsWith('ExecStart='))).not.toContain('--api-key');
  });

  it('fails systemd-analyze when a specifier is left unescaped, so the check has teeth', () => {
    const unit = files('tiny', serverPath)['deploy/systemd/alki-evil.service'];
    const inDescription = unitFile('tiny');
    writeFileSync(inDescription, unit.replace('Description=Alki model server: tiny', 'Description=%z'));
    expect(analyze(inDescription).stderr).toContain('Failed to resolve unit specifiers');
    const inCommand = unitFile('tiny');
    writeFileSync(inCommand, unit.replace('--alias tiny', '--alias %z'));
    expect(analyze(inCommand).status).not.toBe(0);
  });
});

// A parsed YAML document is untyped: kubernetes-models' validate() is what checks that it is the object it says.
type DeploymentData = ConstructorParameters<typeof Deployment>[0];
type ServiceData = ConstructorParameters<typeof Service>[0];
type ConfigMapData = ConstructorParameters<typeof ConfigMap>[0];

// A policy as `alki pack --trust-policy` makes it: self-contained, with a key
// name that tries YAML, compose, systemd and Helm quoting.
const POLICY = `${JSON.stringify(
  {
    schema_version: 1,
    keys: [
      {
        name: 'builder "q" $HOME %n {{x}}\n- a: b',
        public_key:
          '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n',
      },
    ],
  },
  null,
  2,
)}\n`;

function withPolicy(name: string): BundleContent {
  return { ...content(name), trustPolicy: POLICY };
}

describe('GPU layers', () => {
  function rendered(ngl: number | 'auto') {
    const c = content('tiny');
    const runtime = buildRuntime(c.artifacts[0], { ...c.defaults, ngl });
    return {
      data: deployData(c, runtime),
      files: Object.fromEntries(renderDeployFiles(c, runtime).map((f) => [f.path, f.text])),
    };
  }

  it('reach every config: auto leaves the fit to llama-server and opens the GPU devices', () => {
    const auto = rendered('auto');
    expect(auto.data.serverArgs).not.toContain('--n-gpu-layers');
    expect(auto.data.containerArgs).not.toContain('--n-gpu-layers');
    expect(auto.files['deploy/systemd/alki-evil.service']).toContain('PrivateDevices=no');
    const twelve = rendered(12);
    for (const args of [twelve.data.serverArgs, twelve.data.containerArgs])
      expect(args[args.indexOf('--n-gpu-layers') + 1]).toBe('12');
    const deployment = new Deployment(
      parseAllDocuments(twelve.files['deploy/k3s/deployment.yaml'])[0].toJS() as DeploymentData,
    );
    const args = deployment.spec!.template.spec!.containers[0].args!;
    expect(args[args.indexOf('--n-gpu-layers') + 1]).toBe('12');
    expect(twelve.files['deploy/docker/Dockerfile']).toContain('"--n-gpu-layers", "12"');
    expect(rendered(0).files['deploy/systemd/alki-evil.service']).toContain('PrivateDevices=yes');
  });
});

describe('the calibrated accelerator', () => {
  it('picks the CUDA server image, asks for one NVIDIA GPU and annotates the Deployment', () => {
    const rendered = files('tiny', undefined, CUDA);
    const deployment = new Deployment(
      parseAllDocuments(rendered['deploy/k3s/deployment.yaml'])[0].toJS() as DeploymentData,
    );
    expect(() => deployment.validate()).not.toThrow();
    expect(deployment.metadata?.annotations).toMatchObject({
      'alki.dev/accelerator': 'cuda',
      'alki.dev/calibrated-for': `${HOSTILE}, NVIDIA GeForce RTX 4090`,
    });
    const container = deployment.spec!.template.spec!.containers[0];
    expect(container.image).toBe('ghcr.io/ggml-org/llama.cpp:server-cuda');
    expect(container.resources?.limits).toEqual({ memory: '1335Mi', 'nvidia.com/gpu': '1' });
    expect(rendered['deploy/docker/Dockerfile']).toMatch(
      /^FROM ghcr\.io\/ggml-org\/llama\.cpp:server-cuda$/m,
    );
    expect(rendered['deploy/docker/Dockerfile']).toContain('dev.alki.bundle.accelerator="cuda"');
  });

  it('picks the Vulkan image for a Vulkan device, with no extended resource, and the CPU image without a profile', () => {
    const vulkan = files('tiny', undefined, { ...CUDA, backend: 'vulkan', device: 'jetson' });
    const deployment = new Deployment(
      parseAllDocuments(vulkan['deploy/k3s/deployment.yaml'])[0].toJS() as DeploymentData,
    );
    const container = deployment.spec!.template.spec!.containers[0];
    expect(container.image).toBe('ghcr.io/ggml-org/llama.cpp:server-vulkan');
    expect(container.resources?.limits).toEqual({ memory: '1335Mi' });
    const plain = new Deployment(
      parseAllDocuments(files('tiny')['deploy/k3s/deployment.yaml'])[0].toJS() as DeploymentData,
    );
    expect(plain.spec!.template.spec!.containers[0].image).toBe('ghcr.io/ggml-org/llama.cpp:server');
    expect(Object.keys(plain.metadata?.annotations ?? {})).not.toContain('alki.dev/accelerator');
  });

  it('keeps a CPU calibration on the CPU image', () => {
    const cpu = files('tiny', undefined, { ...CUDA, backend: 'cpu', devices: [], vram_bytes: 0 });
    expect(cpu['deploy/docker/Dockerfile']).toMatch(/^FROM ghcr\.io\/ggml-org\/llama\.cpp:server$/m);
  });
});

describe('the k3s manifests', () => {
  it('parse as single YAML documents and validate as a Deployment and a Service', () => {
    for (const name of ['tiny', HOSTILE]) {
      const rendered = files(name);
      const deployments = parseAllDocuments(rendered['deploy/k3s/deployment.yaml']);
      const services = parseAllDocuments(rendered['deploy/k3s/service.yaml']);
      expect([deployments.length, services.length]).toEqual([1, 1]);
      expect(deployments[0].errors).toEqual([]);
      const deployment = new Deployment(deployments[0].toJS() as DeploymentData);
      const service = new Service(services[0].toJS() as ServiceData);
      expect(() => deployment.validate()).not.toThrow();
      expect(() => service.validate()).not.toThrow();
    }
  });

  it('carry a hostile name as data: one annotation, one argument', () => {
    const deployment = new Deployment(
      parseAllDocuments(files(HOSTILE)['deploy/k3s/deployment.yaml'])[0].toJS() as DeploymentData,
    );
    expect(deployment.metadata?.annotations).toEqual({
      'alki.dev/model-name': HOSTILE,
      'alki.dev/bundle-version': '2025-01-01.abcdef12',
    });
    const container = deployment.spec!.template.spec!.containers[0];
    expect(container.args).toEqual(expectedArgs('/models/evil-q8_0.gguf', HOSTILE));
  });

  it('take the API keys from a Secret through the environment, never inline', () => {
    const deployment = new Deployment(
      parseAllDocuments(files('tiny')['deploy/k3s/deployment.yaml'])[0].toJS() as DeploymentData,
    );
    const container = deployment.spec!.template.spec!.containers[0];
    expect(container.env).toEqual([
      {
        name: 'LLAMA_API_KEY',
        valueFrom: { secretKeyRef: { name: 'alki-evil-api-key', key: 'api-key' } },
      },
    ]);
    expect(container.args!.some((arg) => arg.startsWith('--api-key'))).toBe(false);
  });

  it('probe /health, request memory for the model and its KV cache, and mount the models read-only', () => {
    const deployment = new Deployment(
      parseAllDocuments(files('tiny')['deploy/k3s/deployment.yaml'])[0].toJS() as DeploymentData,
    );
    // llama-server runs with --metrics, and Prometheus is told where to scrape it.
    expect(deployment.spec!.template.metadata?.annotations).toEqual({
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': '8080',
      'prometheus.io/path': '/metrics',
    });
    const pod = deployment.spec!.template.spec!;
    const container = pod.containers[0];
    expect(container.readinessProbe?.httpGet).toEqual({ path: '/health', port: 'http' });
    expect(container.livenessProbe?.httpGet).toEqual({ path: '/health', port: 'http' });
    expect(container.resources).toEqual({
      requests: { cpu: '2', memory: '1068Mi' },
      limits: { memory: '1335Mi' },
    });
    expect(container.volumeMounts).toEqual([{ name: 'models', mountPath: '/models', readOnly: true }]);
    expect(pod.volumes).toEqual([
      { name: 'models', hostPath: { path: '/opt/alki/evil/models', type: 'Directory' } },
    ]);
  });
});

describe('the Dockerfile', () => {
  let podman: PodmanEnvironment;
  beforeAll(() => {
    requireCommand('buildah', 'the Dockerfile test');
    podman = podmanEnvironment();
    // An empty local base image stands in for the llama.cpp server image
    // (no registry is reachable): buildah --from replaces the FROM line.
    const container = spawnSync('buildah', ['from', 'scratch'], { env: podman.env, encoding: 'utf8' });
    expect(container.status).toBe(0);
    const commit = spawnSync(
      'buildah',
      ['commit', '-q', container.stdout.trim(), 'localhost/alki-empty-base:1'],
      { env: podman.env, encoding: 'utf8' },
    );
    expect(commit.stderr).toBe('');
  });
  afterAll(() => podman?.cleanup());

  it('builds with buildah, and the image carries a hostile name as exact label and argument values', () => {
    const context = mkdtempSync(path.join(work, 'docker-'));
    const rendered = files(HOSTILE);
    mkdirSync(path.join(context, 'models'));
    mkdirSync(path.join(context, 'metadata'));
    mkdirSync(path.join(context, 'deploy/docker'), { recursive: true });
    writeFileSync(path.join(context, 'models/evil-q8_0.gguf'), 'model bytes');
    writeFileSync(path.join(context, 'metadata/manifest.json'), '{}');
    writeFileSync(path.join(context, 'deploy/docker/Dockerfile'), rendered['deploy/docker/Dockerfile']);
    const build = spawnSync(
      'buildah',
      [
        'build',
        '-q',
        '--format',
        'docker',
        '--from',
        'localhost/alki-empty-base:1',
        '-f',
        'deploy/docker/Dockerfile',
        '-t',
        'localhost/alki-evil:1',
        '.',
      ],
      { cwd: context, env: podman.env, encoding: 'utf8' },
    );
    expect(build.status).toBe(0);
    const inspect = spawnSync('buildah', ['inspect', '--type', 'image', 'localhost/alki-evil:1'], {
      env: podman.env,
      encoding: 'utf8',
    });
    const config = (JSON.parse(inspect.stdout) as { Docker: { config: Record<string, unknown> } }).Docker
      .config;
    expect(config.Cmd).toEqual(expectedArgs('/models/evil-q8_0.gguf', HOSTILE));
    // A newline cannot be part of a LABEL value, so it becomes a space; nothing else changes.
    const flat = HOSTILE.replace(/\n/g, ' ');
    expect(config.Labels).toMatchObject({
      'org.opencontainers.image.title': flat,
      'dev.alki.bundle.slug': 'evil',
    });
    expect(config.User).toBe('65532:65532');
    // The keys come from a container secret mounted at /run/secrets; none is in the image.
    expect(config.Env).toContain('LLAMA_ARG_API_KEY_FILE=/run/secrets/alki-api-key');
    expect(config.Healthcheck).toEqual(
      expect.objectContaining({ Test: ['CMD', 'curl', '-f', 'http://localhost:8080/health'] }),
    );
    expect(Object.keys(config.ExposedPorts as object)).toEqual(['8080/tcp']);
  });
});

// The configs hand keys to llama-server only through its environment
// (LLAMA_ARG_API_KEY_FILE for the unit's credential and the container
// secret, LLAMA_API_KEY for the Kubernetes Secret); this runs the real
// llama-server both ways to show it then refuses requests without a key.
describe.each([
  ['a key file in LLAMA_ARG_API_KEY_FILE', 'file'],
  ['comma-separated keys in LLAMA_API_KEY', 'env'],
] as const)('llama-server given %s', (_label, mode) => {
  it('answers /health without a key, 401 to a generation without one, and 200 with either key', async () => {
    const keys = ['deploy-key-one-3e9d', 'deploy-key-two-a1f0'];
    const keyFile = path.join(mkdtempSync(path.join(work, 'keys-')), 'api-key');
    writeFileSync(keyFile, `# keys\n${keys.join('\n')}\n`);
    const port = await freePort();
    const { path: model } = await cachedTinyLlamaGguf();
    const args = llamaServerArgs(
      { server: { host: '127.0.0.1', port }, args: { ctx: 128, threads: 1, ngl: 0, parallel: 1 } },
      model,
      'tiny',
    );
    const env = {
      ...process.env,
      ...(mode === 'file' ? { LLAMA_ARG_API_KEY_FILE: keyFile } : { LLAMA_API_KEY: keys.join(',') }),
    };
    const server = startProcess((await nativeTools()).paths['llama-server'], args, { env });
    try {
      const url = `http://127.0.0.1:${port}`;
      await waitForHttp(`${url}/health`, { timeoutMs: 60_000 });
      const complete = async (headers: Record<string, string>) => {
        const answer = await fetch(`${url}/v1/completions`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', ...headers },
          body: JSON.stringify({ prompt: 'Hi', max_tokens: 1 }),
        });
        await answer.arrayBuffer();
        return answer.status;
      };
      expect(await complete({})).toBe(401);
      expect(await complete({ Authorization: `Bearer ${keys[0]}` })).toBe(200);
      expect(await complete({ Authorization: `Bearer ${keys[1]}` })).toBe(200);
    } finally {
      await server.stop();
    }
  }, 120_000);
});

// Podman's quadlet generator converts the file, and what it generates is a unit
// systemd-analyze accepts, whose `podman run` line holds each expected option
// and runs the image. Returns the command's words after the image, decoded as
// systemd will (quadlet's own options before it hold specifiers such as %t).
function expectGeneratedUnit(containerText: string, image: string, options: string[]): string[] {
  const generated = generateQuadletUnit('alki-evil', containerText);
  expect({ status: generated.status, refused: generated.unit ? '' : generated.stderr }).toEqual({
    status: 0,
    refused: '',
  });
  const execStart = generated.unit.split('\n').find((line) => line.startsWith('ExecStart=')) ?? '';
  expect(execStart).toMatch(/^ExecStart=\S+\/podman run /);
  for (const option of options) expect(execStart).toContain(` ${option}`);
  const at = execStart.indexOf(` ${image}`);
  expect(at).toBeGreaterThan(0);
  const result = analyzeUnit('alki-evil.service', generated.unit);
  expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
  return splitSystemdCommandLine(execStart.slice(at + image.length + 1));
}

// systemd-analyze verify checks that every ExecStart= program exists.
function analyzeUnit(name: string, text: string) {
  const dir = mkdtempSync(path.join(work, 'unit-'));
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return spawnSync('systemd-analyze', ['verify', '--man=no', file], { encoding: 'utf8' });
}

/** A unit's lines, once systemd-analyze verify passed it with no warning. */
function verifiedUnitLines(unit: string): string[] {
  const result = analyzeUnit('alki-evil.service', unit);
  expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
  return unit.split('\n');
}

// Compose interpolates $VAR in every value; `$$` is one literal `$`.
function uninterpolated(value: string): string {
  if (/(^|[^$])(\$\$)*\$(?!\$)/.test(value)) throw new Error(`unescaped $ in ${value}`);
  return value.replace(/\$\$/g, '$');
}

describe('the Podman quadlet', () => {
  beforeAll(() => {
    requireCommand('systemd-analyze', 'the quadlet test');
    requireCommand('podman', 'the quadlet test');
  });

  it("is turned into a valid unit by podman's quadlet generator, with well-formed values, for a plain and a hostile name", () => {
    for (const name of ['tiny', HOSTILE]) {
      const text = files(name)['deploy/podman/alki-evil.container'];
      const check = checkQuadletContainer(text);
      expect(check.problems).toEqual([]);
      const settings = Object.fromEntries(check.container);
      expect(settings).toMatchObject({
        Image: 'ghcr.io/ggml-org/llama.cpp:server',
        Volume: '/opt/alki/evil/models:/models:ro',
        PublishPort: '8080:8080',
        ReadOnly: 'yes',
        RunInit: 'yes',
      });
      expect(splitSystemdCommandLine(settings.Exec)).toEqual(expectedArgs('/models/evil-q8_0.gguf', name));
      // The key comes from a podman secret, never inline.
      expect(check.container).toEqual(
        expect.arrayContaining([
          ['Secret', 'alki-api-key,type=mount,target=/run/secrets/alki-api-key'],
          ['Environment', 'LLAMA_ARG_API_KEY_FILE=/run/secrets/alki-api-key'],
        ]),
      );
      expect(settings.Exec).not.toContain('--api-key');
      // The generator carries Exec= ($$, %%, quotes and all) into ExecStart= word for word.
      const args = expectGeneratedUnit(text, 'ghcr.io/ggml-org/llama.cpp:server', [
        '--secret',
        '--read-only',
      ]);
      expect(args).toEqual(expectedArgs('/models/evil-q8_0.gguf', name));
    }
  });

  it('fails with an undocumented key or a bad port, so the checks have teeth', () => {
    const text = files('tiny')['deploy/podman/alki-evil.container'];
    const refused = generateQuadletUnit('alki-evil', text.replace('RunInit=yes', 'Init=yes'));
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain("unsupported key 'Init' in group 'Container'");
    expect(
      checkQuadletContainer(text.replace('PublishPort=8080:8080', 'PublishPort=80 80')).problems,
    ).toEqual(['PublishPort=80 80 is not [[ip:]hostPort:]containerPort[/proto]']);
  });

  it('adds the NVIDIA GPUs by their CDI name for a CUDA calibration', () => {
    const check = checkQuadletContainer(files('tiny', undefined, CUDA)['deploy/podman/alki-evil.container']);
    expect(check.problems).toEqual([]);
    expect(check.container).toContainEqual(['AddDevice', 'nvidia.com/gpu=all']);
  });
});

describe('the compose file', () => {
  it('validates against the Compose Specification schema, for a plain and a hostile name', () => {
    for (const name of ['tiny', HOSTILE]) {
      const documents = parseAllDocuments(files(name)['deploy/compose/compose.yaml']);
      expect(documents).toHaveLength(1);
      expect(documents[0].errors).toEqual([]);
      const compose = documents[0].toJS() as {
        services: Record<
          string,
          {
            command: string[];
            volumes: unknown[];
            labels: Record<string, string>;
            environment: unknown;
            secrets: unknown;
          }
        >;
        secrets: unknown;
      };
      expect(validateCompose(compose)).toEqual([]);
      const service = compose.services['llama-server'];
      expect(service.command.map(uninterpolated)).toEqual(expectedArgs('/models/evil-q8_0.gguf', name));
      expect(uninterpolated(service.labels['org.opencontainers.image.title'])).toBe(name);
      // The key comes from a compose secret made from a host file, never inline.
      expect(service.environment).toEqual({ LLAMA_ARG_API_KEY_FILE: '/run/secrets/alki-api-key' });
      expect(service.secrets).toEqual(['alki-api-key']);
      expect(compose.secrets).toEqual({ 'alki-api-key': { file: '/etc/alki/alki-evil.api-key' } });
      expect(service.command.some((arg) => arg.startsWith('--api-key'))).toBe(false);
      // The models, relative to deploy/compose/, are the bundle's own.
      expect(service.volumes).toEqual([
        { type: 'bind', source: '../../models', target: '/models', read_only: true },
      ]);
    }
  });

  it('fails the schema with an unknown service key, so the check has teeth', () => {
    const compose = parseAllDocuments(files('tiny')['deploy/compose/compose.yaml'])[0].toJS() as {
      services: Record<string, Record<string, unknown>>;
    };
    compose.services['llama-server'].gpus_please = true;
    expect(validateCompose(compose)).not.toEqual([]);
  });

  it('reserves an NVIDIA GPU for a CUDA calibration and still validates', () => {
    const compose = parseAllDocuments(
      files('tiny', undefined, CUDA)['deploy/compose/compose.yaml'],
    )[0].toJS() as {
      services: Record<string, { image: string; deploy: unknown }>;
    };
    expect(validateCompose(compose)).toEqual([]);
    expect(compose.services['llama-server'].image).toBe('ghcr.io/ggml-org/llama.cpp:server-cuda');
    expect(compose.services['llama-server'].deploy).toEqual({
      resources: { reservations: { devices: [{ driver: 'nvidia', count: 1, capabilities: ['gpu'] }] } },
    });
  });
});

describe('the two-stage configs', () => {
  const BUNDLE = `registry.local:5000/models/evil@sha256:${'ab'.repeat(32)}`;
  const RUNTIME = 'registry.local:5000/alki-runtime:1';
  let podmanPath: string;
  beforeAll(() => {
    requireCommand('systemd-analyze', 'the two-stage unit test');
    podmanPath = requireCommand('podman', 'the two-stage unit test');
  });

  function twoStage(name: string, c: BundleContent = content(name)): Record<string, string> {
    const runtime = buildRuntime(c.artifacts[0], c.defaults);
    return Object.fromEntries(
      renderTwoStageFiles(c, runtime, { bundleUri: BUNDLE, runtimeImage: RUNTIME }, { podmanPath }).map(
        (f) => [f.path, f.text],
      ),
    );
  }

  /** The two-stage k3s Deployment, validated by kubernetes-models. */
  function validDeployment(rendered: Record<string, string>): Deployment {
    const deployment = new Deployment(
      parseAllDocuments(rendered['k3s/deployment.yaml'])[0].toJS() as DeploymentData,
    );
    expect(() => deployment.validate()).not.toThrow();
    return deployment;
  }

  it('write a systemd unit, k3s manifests, a quadlet and a compose file', () => {
    expect(Object.keys(twoStage('tiny')).sort()).toEqual([
      'compose/compose.yaml',
      'k3s/deployment.yaml',
      'k3s/service.yaml',
      'podman/alki-evil.container',
      'systemd/alki-evil.service',
    ]);
  });

  it('run the runtime image with podman from a unit that passes systemd-analyze verify', () => {
    for (const name of ['tiny', HOSTILE]) {
      const unit = twoStage(name)['systemd/alki-evil.service'];
      const lines = verifiedUnitLines(unit);
      expect(lines).toContain(`Environment=ALKI_BUNDLE_URI=${BUNDLE}`);
      const exec = splitSystemdCommandLine(
        lines.find((l) => l.startsWith('ExecStart='))!.slice('ExecStart='.length),
      );
      expect(exec.slice(0, 2)).toEqual([podmanPath, 'run']);
      expect(exec.at(-1)).toBe(RUNTIME);
      expect(exec.join(' ')).toContain(
        '--env ALKI_BUNDLE_URI --secret alki-evil-api-key,type=mount,target=/run/secrets/alki-api-key --env LLAMA_ARG_API_KEY_FILE=/run/secrets/alki-api-key --publish 8080:8080 --volume alki-evil-bundle:/var/lib/alki',
      );
      // The key: a systemd credential, made a podman secret before each start, never in the unit.
      expect(lines).toContain('LoadCredential=api-key:/etc/credstore/alki-evil.api-key');
      expect(lines.filter((l) => l.startsWith('ExecStartPre=')).slice(1)).toEqual([
        `ExecStartPre=-${podmanPath} secret rm alki-evil-api-key`,
        `ExecStartPre=${podmanPath} secret create alki-evil-api-key %d/api-key`,
      ]);
      expect(unit).not.toMatch(/--api-key|LLAMA_API_KEY=/);
      expect(lines.filter((line) => line === '[Service]')).toHaveLength(1);
    }
  });

  it('give k3s a valid Deployment that pulls the pinned bundle into an emptyDir, and a valid Service', () => {
    for (const name of ['tiny', HOSTILE]) {
      const rendered = twoStage(name);
      const deployment = validDeployment(rendered);
      expect(() =>
        new Service(parseAllDocuments(rendered['k3s/service.yaml'])[0].toJS() as ServiceData).validate(),
      ).not.toThrow();
      const pod = deployment.spec!.template.spec!;
      const container = pod.containers[0];
      expect(container.image).toBe(RUNTIME);
      expect(container.env).toEqual([
        { name: 'ALKI_BUNDLE_URI', value: BUNDLE },
        {
          name: 'LLAMA_API_KEY',
          valueFrom: { secretKeyRef: { name: 'alki-evil-api-key', key: 'api-key' } },
        },
      ]);
      expect(container.args).toBeUndefined();
      expect(container.securityContext?.readOnlyRootFilesystem).toBe(true);
      expect(container.volumeMounts).toEqual([
        { name: 'bundle', mountPath: '/var/lib/alki' },
        { name: 'tmp', mountPath: '/tmp' },
      ]);
      expect(pod.volumes).toEqual([
        { name: 'bundle', emptyDir: {} },
        { name: 'tmp', emptyDir: {} },
      ]);
    }
  });

  it('give podman a quadlet and compose a file that name the pinned bundle and keep it in a volume', () => {
    for (const name of ['tiny', HOSTILE]) {
      const rendered = twoStage(name);
      const check = checkQuadletContainer(rendered['podman/alki-evil.container']);
      expect(check.problems).toEqual([]);
      expect(check.container).toEqual(
        expect.arrayContaining([
          ['Image', RUNTIME],
          ['Environment', `ALKI_BUNDLE_URI=${BUNDLE}`],
          ['Volume', 'alki-evil-bundle:/var/lib/alki'],
          ['Secret', 'alki-api-key,type=mount,target=/run/secrets/alki-api-key'],
          ['Environment', 'LLAMA_ARG_API_KEY_FILE=/run/secrets/alki-api-key'],
        ]),
      );
      expect(check.container.map(([key]) => key)).not.toContain('Exec');
      expect(
        expectGeneratedUnit(rendered['podman/alki-evil.container'], RUNTIME, [
          `--env ALKI_BUNDLE_URI=${BUNDLE}`,
          '-v alki-evil-bundle:/var/lib/alki',
        ]),
      ).toEqual([]);

      const compose = parseAllDocuments(rendered['compose/compose.yaml'])[0].toJS() as {
        services: Record<string, Record<string, unknown>>;
        volumes: Record<string, unknown>;
        secrets: Record<string, unknown>;
      };
      expect(validateCompose(compose)).toEqual([]);
      const service = compose.services['llama-server'];
      expect(service).toMatchObject({
        image: RUNTIME,
        environment: { ALKI_BUNDLE_URI: BUNDLE, LLAMA_ARG_API_KEY_FILE: '/run/secrets/alki-api-key' },
        secrets: ['alki-api-key'],
      });
      expect(service.command).toBeUndefined();
      expect(compose.volumes).toEqual({ bundle: {} });
      expect(compose.secrets).toEqual({ 'alki-api-key': { file: '/etc/alki/alki-evil.api-key' } });
    }
  });

  it('refuse a bundle reference that is not pinned by digest', () => {
    const c = content('tiny');
    expect(() =>
      renderTwoStageFiles(c, buildRuntime(c.artifacts[0], c.defaults), {
        bundleUri: 'registry.local:5000/models/evil:latest',
        runtimeImage: RUNTIME,
      }),
    ).toThrow(/pinned by digest/);
  });

  describe('for a bundle that carries a trust policy', () => {
    const HOST_POLICY = '/etc/alki/alki-evil.trust-policy.json';
    const withPolicyFiles = (name: string) => twoStage(name, withPolicy(name));

    it("carries the verification step in the systemd unit: alki verify against the host's copy, before llama-server", () => {
      for (const name of ['tiny', HOSTILE]) {
        const c = withPolicy(name);
        // systemd-analyze verify checks that both programs exist: this node stands in for llama-server and alki.
        const unit = Object.fromEntries(
          renderDeployFiles(c, buildRuntime(c.artifacts[0], c.defaults), {
            serverPath: process.execPath,
            alkiPath: process.execPath,
          }).map((f) => [f.path, f.text]),
        )['deploy/systemd/alki-evil.service'];
        const result = analyzeUnit('alki-evil.service', unit);
        expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
        const lines = unit.split('\n');
        const pre = lines.filter((line) => line.startsWith('ExecStartPre='));
        expect(pre).toHaveLength(1);
        expect(splitSystemdCommandLine(pre[0].slice('ExecStartPre='.length))).toEqual([
          process.execPath,
          'verify',
          '/opt/alki/evil',
          '--policy',
          HOST_POLICY,
        ]);
        expect(lines.indexOf(pre[0])).toBeLessThan(lines.findIndex((line) => line.startsWith('ExecStart=')));
        // Node under MemoryDenyWriteExecute= needs --jitless (apps/cli's pack-trust-policy test runs it so).
        expect(lines).toContain('Environment=NODE_OPTIONS=--jitless');
        expect(lines).toContain('MemoryDenyWriteExecute=yes');
        expect(lines.filter((line) => line === '[Service]')).toHaveLength(1);
      }
    });

    it('writes the policy beside the two-stage configs, and a ConfigMap of it for k3s', () => {
      const rendered = withPolicyFiles(HOSTILE);
      expect(Object.keys(rendered).sort()).toEqual([
        'compose/compose.yaml',
        'k3s/deployment.yaml',
        'k3s/service.yaml',
        'k3s/trust-policy.yaml',
        'podman/alki-evil.container',
        'systemd/alki-evil.service',
        'trust-policy.json',
      ]);
      expect(rendered['trust-policy.json']).toBe(POLICY);
      const documents = parseAllDocuments(rendered['k3s/trust-policy.yaml']);
      expect(documents).toHaveLength(1);
      const configMap = new ConfigMap(documents[0].toJS() as ConfigMapData);
      expect(() => configMap.validate()).not.toThrow();
      expect(configMap.metadata?.name).toBe('alki-evil-trust-policy');
      expect(configMap.data).toEqual({ 'policy.json': POLICY });
    });

    it("passes ALKI_TRUST_POLICY and mounts the host's policy in the two-stage systemd unit", () => {
      for (const name of ['tiny', HOSTILE]) {
        const lines = verifiedUnitLines(withPolicyFiles(name)['systemd/alki-evil.service']);
        expect(lines).toContain(
          `Environment=ALKI_BUNDLE_URI=${BUNDLE} ALKI_TRUST_POLICY=/etc/alki/trust/policy.json`,
        );
        const exec = splitSystemdCommandLine(
          lines.find((l) => l.startsWith('ExecStart='))!.slice('ExecStart='.length),
        );
        expect(exec.join(' ')).toContain(
          `--env ALKI_BUNDLE_URI --env ALKI_TRUST_POLICY --volume ${HOST_POLICY}:/etc/alki/trust/policy.json:ro --secret`,
        );
      }
    });

    it('mounts the ConfigMap into the two-stage k3s Deployment and names it in ALKI_TRUST_POLICY', () => {
      for (const name of ['tiny', HOSTILE]) {
        const deployment = validDeployment(withPolicyFiles(name));
        const pod = deployment.spec!.template.spec!;
        const container = pod.containers[0];
        expect(container.env?.slice(0, 2)).toEqual([
          { name: 'ALKI_BUNDLE_URI', value: BUNDLE },
          { name: 'ALKI_TRUST_POLICY', value: '/etc/alki/trust/policy.json' },
        ]);
        expect(container.volumeMounts).toContainEqual({
          name: 'trust-policy',
          mountPath: '/etc/alki/trust',
          readOnly: true,
        });
        expect(pod.volumes).toContainEqual({
          name: 'trust-policy',
          configMap: { name: 'alki-evil-trust-policy' },
        });
      }
    });

    it("gives the quadlet and the compose file ALKI_TRUST_POLICY and the host's policy, read-only", () => {
      for (const name of ['tiny', HOSTILE]) {
        const rendered = withPolicyFiles(name);
        const check = checkQuadletContainer(rendered['podman/alki-evil.container']);
        expect(check.problems).toEqual([]);
        expect(check.container).toContainEqual(['Volume', `${HOST_POLICY}:/etc/alki/trust/policy.json:ro`]);
        expectGeneratedUnit(rendered['podman/alki-evil.container'], RUNTIME, [
          `--env ALKI_TRUST_POLICY=/etc/alki/trust/policy.json`,
          `-v ${HOST_POLICY}:/etc/alki/trust/policy.json:ro`,
        ]);

        const compose = parseAllDocuments(rendered['compose/compose.yaml'])[0].toJS() as {
          services: Record<string, { environment: Record<string, string>; volumes: unknown[] }>;
        };
        expect(validateCompose(compose)).toEqual([]);
        const service = compose.services['llama-server'];
        expect(service.environment.ALKI_TRUST_POLICY).toBe('/etc/alki/trust/policy.json');
        expect(service.volumes).toContainEqual({
          type: 'bind',
          source: HOST_POLICY,
          target: '/etc/alki/trust/policy.json',
          read_only: true,
        });
      }
    });
  });
});

describe('the Helm chart', () => {
  const BUNDLE = `registry.local:5000/models/evil@sha256:${'cd'.repeat(32)}`;
  const RUNTIME = 'registry.local:5000/alki-runtime:1';
  const CHART = 'deploy/helm/alki-evil';
  let helm: string;
  beforeAll(() => {
    helm = cachedToolPath('helm');
  });

  // The chart's files of a bundle, written out as `helm` reads a chart folder.
  function chartDir(rendered: Record<string, string>): string {
    const dir = mkdtempSync(path.join(work, 'chart-'));
    for (const [file, text] of Object.entries(rendered)) {
      if (!file.startsWith(`${CHART}/`)) continue;
      const target = path.join(dir, file.slice(CHART.length + 1));
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(target, text);
    }
    return dir;
  }

  function helmTemplate(dir: string, ...set: string[]) {
    const result = spawnSync(helm, ['template', 'alki-evil', dir, ...set.flatMap((s) => ['--set', s])], {
      encoding: 'utf8',
    });
    const documents =
      result.status === 0 ? parseAllDocuments(result.stdout).map((d) => d.toJS() as unknown) : [];
    return { ...result, documents };
  }

  function k3sDeployment(text: string): NonNullable<DeploymentData> {
    return parseAllDocuments(text)[0].toJS() as NonNullable<DeploymentData>;
  }

  it('passes helm lint, and renders the k3s Deployment and Service of the bundle, for a plain and a hostile name', () => {
    for (const name of ['tiny', HOSTILE]) {
      const rendered = files(name);
      const dir = chartDir(rendered);
      const lint = spawnSync(helm, ['lint', '--strict', dir], { encoding: 'utf8' });
      expect({ status: lint.status, out: lint.status === 0 ? '' : lint.stdout + lint.stderr }).toEqual({
        status: 0,
        out: '',
      });
      const { documents, status, stderr } = helmTemplate(dir);
      expect({ status, stderr }).toEqual({ status: 0, stderr: '' });
      const [service, deployment] = documents as [NonNullable<ServiceData>, NonNullable<DeploymentData>];
      expect(() => new Deployment(deployment).validate()).not.toThrow();
      expect(() => new Service(service).validate()).not.toThrow();
      // The same pod as deploy/k3s/deployment.yaml: image, arguments, key, probes, resources, volumes.
      const k3s = k3sDeployment(rendered['deploy/k3s/deployment.yaml']);
      expect(deployment.spec).toEqual(k3s.spec);
      expect(deployment.metadata?.annotations).toEqual(k3s.metadata?.annotations);
      expect(deployment.spec?.template.spec?.containers[0].args).toEqual(
        expectedArgs('/models/evil-q8_0.gguf', name),
      );
      expect(service.spec).toEqual(
        (parseAllDocuments(rendered['deploy/k3s/service.yaml'])[0].toJS() as NonNullable<ServiceData>).spec,
      );
    }
  });

  it('renders the two-stage Deployment when given the runtime image and a bundle pinned by digest', () => {
    const c = content(HOSTILE);
    const twoStage = Object.fromEntries(
      renderTwoStageFiles(c, buildRuntime(c.artifacts[0], c.defaults), {
        bundleUri: BUNDLE,
        runtimeImage: RUNTIME,
      }).map((f) => [f.path, f.text]),
    );
    const { documents, status, stderr } = helmTemplate(
      chartDir(files(HOSTILE)),
      `image=${RUNTIME}`,
      `bundleUri=${BUNDLE}`,
    );
    expect({ status, stderr }).toEqual({ status: 0, stderr: '' });
    const deployment = documents[1] as NonNullable<DeploymentData>;
    expect(() => new Deployment(deployment).validate()).not.toThrow();
    expect(deployment.spec).toEqual(k3sDeployment(twoStage['k3s/deployment.yaml']).spec);
  });

  it('gives the two-stage Deployment the trust policy of a bundle that carries one, as a ConfigMap', () => {
    const c = withPolicy(HOSTILE);
    const runtime = buildRuntime(c.artifacts[0], c.defaults);
    const rendered = Object.fromEntries(renderDeployFiles(c, runtime).map((f) => [f.path, f.text]));
    const twoStage = Object.fromEntries(
      renderTwoStageFiles(c, runtime, { bundleUri: BUNDLE, runtimeImage: RUNTIME }).map((f) => [
        f.path,
        f.text,
      ]),
    );
    const dir = chartDir(rendered);
    const lint = spawnSync(
      helm,
      ['lint', '--strict', dir, '--set', `image=${RUNTIME}`, '--set', `bundleUri=${BUNDLE}`],
      {
        encoding: 'utf8',
      },
    );
    expect({ status: lint.status, out: lint.status === 0 ? '' : lint.stdout + lint.stderr }).toEqual({
      status: 0,
      out: '',
    });
    const { documents, status, stderr } = helmTemplate(dir, `image=${RUNTIME}`, `bundleUri=${BUNDLE}`);
    expect({ status, stderr }).toEqual({ status: 0, stderr: '' });
    const byKind = (kind: string) => documents.filter((d) => (d as { kind?: string }).kind === kind);
    const [configMap] = byKind('ConfigMap') as Array<NonNullable<ConfigMapData>>;
    expect(() => new ConfigMap(configMap).validate()).not.toThrow();
    expect(configMap.data).toEqual({ 'policy.json': POLICY });
    const [deployment] = byKind('Deployment') as Array<NonNullable<DeploymentData>>;
    expect(() => new Deployment(deployment).validate()).not.toThrow();
    expect(deployment.spec).toEqual(k3sDeployment(twoStage['k3s/deployment.yaml']).spec);
    expect(configMap.metadata?.name).toBe(
      (parseAllDocuments(twoStage['k3s/trust-policy.yaml'])[0].toJS() as NonNullable<ConfigMapData>).metadata
        ?.name,
    );
    // Embedded, the chart has no runtime to verify with: no ConfigMap, the same pod as without a policy.
    const embedded = helmTemplate(dir);
    expect(embedded.status).toBe(0);
    expect(embedded.documents.map((d) => (d as { kind: string }).kind)).toEqual(['Service', 'Deployment']);
  });

  it('refuses a bundle reference that is not pinned by digest, through its values schema', () => {
    const refused = helmTemplate(
      chartDir(files('tiny')),
      `image=${RUNTIME}`,
      'bundleUri=registry.local:5000/models/evil:latest',
    );
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/values don't meet the specifications of the schema[\s\S]*bundleUri/);
  });
});

describe("the update agent's unit", () => {
  const CHANNEL = 'registry.local:5000/models/evil:stable';
  const alkiPath = fileURLToPath(new URL('../../../../apps/cli/bin/alki.js', import.meta.url));

  function agentFiles(name: string, channel = CHANNEL, policy = false): Record<string, string> {
    const c = policy ? withPolicy(name) : content(name);
    const runtime = { ...buildRuntime(c.artifacts[0], c.defaults), agent: { channel } };
    return Object.fromEntries(renderDeployFiles(c, runtime, { alkiPath }).map((f) => [f.path, f.text]));
  }

  function execStart(unit: string): string[] {
    const exec = unit.split('\n').filter((line) => line.startsWith('ExecStart'));
    expect(exec).toHaveLength(1);
    // The one specifier on the line, %d (the unit's credentials directory), is systemd's to resolve.
    const suffix = ' --api-key-file %d/api-key';
    expect(exec[0].endsWith(suffix)).toBe(true);
    return splitSystemdCommandLine(exec[0].slice('ExecStart='.length, -suffix.length));
  }

  it('is written only for a bundle that names a channel', () => {
    expect(Object.keys(files('tiny')).filter((file) => file.endsWith('-agent.service'))).toEqual([]);
    expect(Object.keys(agentFiles('tiny')).filter((file) => file.startsWith('deploy/systemd/'))).toEqual([
      'deploy/systemd/alki-evil.service',
      'deploy/systemd/alki-evil-agent.service',
    ]);
  });

  it('passes systemd-analyze verify with no warning, for a plain and a hostile name, with and without a trust policy', () => {
    requireCommand('systemd-analyze', 'the systemd unit test');
    for (const [name, policy] of [
      ['tiny', false],
      [HOSTILE, false],
      [HOSTILE, true],
    ] as const) {
      const file = path.join(mkdtempSync(path.join(work, 'agent-unit-')), 'alki-evil-agent.service');
      writeFileSync(file, agentFiles(name, CHANNEL, policy)['deploy/systemd/alki-evil-agent.service']);
      const result = spawnSync('systemd-analyze', ['verify', '--man=no', file], { encoding: 'utf8' });
      expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
    }
  });

  it("runs alki agent on the channel with the server's port, a state directory and the key from a credential", () => {
    const unit = agentFiles(HOSTILE)['deploy/systemd/alki-evil-agent.service'];
    expect(execStart(unit)).toEqual([
      alkiPath,
      'agent',
      CHANNEL,
      '--dir',
      '/var/lib/alki-agent-evil',
      '--exec',
      '--host',
      '0.0.0.0',
      '--port',
      '8080',
      '--listen',
      '127.0.0.1:9464',
    ]);
    const lines = unit.split('\n');
    expect(lines.filter((line) => line === '[Service]')).toHaveLength(1);
    expect(lines).toContain('StateDirectory=alki-agent-evil');
    expect(lines).toContain('LoadCredential=api-key:/etc/credstore/alki-evil.api-key');
    expect(lines).toContain('EnvironmentFile=-/etc/alki/alki-evil-agent.env');
    for (const setting of [
      'DynamicUser=yes',
      'ProtectSystem=strict',
      'NoNewPrivileges=yes',
      'Restart=always',
    ])
      expect(lines).toContain(setting);
    // Node.js compiles code at run time: W^X memory would kill it.
    expect(lines.filter((line) => line.startsWith('MemoryDenyWriteExecute='))).toEqual([]);
  });

  it("passes the host's copy of a bundle's trust policy to alki agent --policy, the file the server unit verifies with", () => {
    const files = agentFiles(HOSTILE, CHANNEL, true);
    const hostPolicy = '/etc/alki/alki-evil.trust-policy.json';
    expect(execStart(files['deploy/systemd/alki-evil-agent.service']).slice(-2)).toEqual([
      '--policy',
      hostPolicy,
    ]);
    expect(files['deploy/systemd/alki-evil-agent.service']).toContain(
      `install -D -m 0644 metadata/trust-policy.json ${hostPolicy}`,
    );
    const check = files['deploy/systemd/alki-evil.service']
      .split('\n')
      .filter((line) => line.startsWith('ExecStartPre='));
    expect(
      check.map((line) => splitSystemdCommandLine(line.slice('ExecStartPre='.length)).slice(-2)),
    ).toEqual([['--policy', hostPolicy]]);
    // Without a policy in the bundle, the agent is given none.
    expect(execStart(agentFiles(HOSTILE)['deploy/systemd/alki-evil-agent.service'])).not.toContain(
      '--policy',
    );
  });

  it('passes a channel with specifiers and spaces as one literal argument (the renderer escapes what the schema would refuse)', () => {
    const channel = 'registry.local/models/x:%n $HOME %z';
    const unit = agentFiles('tiny', channel)['deploy/systemd/alki-evil-agent.service'];
    expect(execStart(unit)[2]).toBe(channel);
  });

  it('gives the agent room beside the server: its memory bounds are the server unit’s plus a fixed overhead', () => {
    const c = content('tiny');
    const runtime = { ...buildRuntime(c.artifacts[0], c.defaults), agent: { channel: CHANNEL } };
    const data = deployData(c, runtime);
    const unit = agentFiles('tiny')['deploy/systemd/alki-evil-agent.service'];
    expect(data.agent?.memoryMaxMiB).toBeGreaterThan(data.memoryLimitMiB);
    expect(unit).toContain(`MemoryMax=${data.agent?.memoryMaxMiB}M`);
    expect(data.agent?.alkiPath).toBe('/usr/local/bin/alki');
  });
});
