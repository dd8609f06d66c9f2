import path from 'node:path';
import type { BundleContent } from '../assemble/content.js';
import { BundlerError } from '../errors.js';
import {
  agentUnitPath,
  COMPOSE_PATH,
  DOCKERFILE_PATH,
  K3S_DEPLOYMENT_PATH,
  K3S_SERVICE_PATH,
  helmChartPath,
  quadletPath,
  systemdUnitPath,
} from '../format/layout.js';
import type { RuntimeManifest } from '../format/types.js';
import { artifactPath } from '../format/validate.js';
import { llamaServerArgs, slotCount } from './llama-server-args.js';
import { loadStaticTemplate, loadTemplate } from './render.js';
import { estimateMemory } from './resources.js';

/** Where the deploy files expect things; each has a default that suits a plain edge host. */
export interface DeployOptions {
  /** The bundle is installed at `<installRoot>/<slug>` on hosts (systemd, k3s hostPath). */
  installRoot?: string;
  /** llama-server on hosts. */
  serverPath?: string;
  /** The llama.cpp server image the Dockerfile and Deployment use; the default follows runtime.json's accelerator. */
  serverImage?: string;
  /** podman on hosts, for the two-stage systemd unit. */
  podmanPath?: string;
  /** The alki CLI on hosts: the systemd unit's `alki verify` (a bundle with a trust policy) and the agent's unit. */
  alkiPath?: string;
  /**
   * The host's copy of the bundle's trust policy, which the configs verify
   * with; default `/etc/alki/<object name>.trust-policy.json`.
   */
  trustPolicyFile?: string;
}

export const DEFAULT_INSTALL_ROOT = '/opt/alki';
export const DEFAULT_SERVER_PATH = '/usr/local/bin/llama-server';
export const DEFAULT_PODMAN_PATH = '/usr/bin/podman';
export const DEFAULT_ALKI_PATH = '/usr/local/bin/alki';
/** Where the two-stage containers see the trust policy (ALKI_TRUST_POLICY): a file, or a ConfigMap key, mounted read-only. */
export const CONTAINER_TRUST_POLICY = '/etc/alki/trust/policy.json';
/** Where the agent's unit serves its /metrics (alki agent --listen's default). */
export const AGENT_LISTEN = '127.0.0.1:9464';
/** Memory the agent's Node.js process and `alki serve`'s own need beside the model server's. */
const AGENT_OVERHEAD_MIB = 256;
/** llama.cpp's published server image (ggml-org/llama.cpp, .devops/cpu.Dockerfile, target "server"). */
export const DEFAULT_SERVER_IMAGE = 'ghcr.io/ggml-org/llama.cpp:server';

/**
 * llama.cpp's server images for the GPU backends node-llama-cpp reports
 * (.devops/cuda.Dockerfile and vulkan.Dockerfile, target "server"); Metal
 * has no container image.
 */
const GPU_SERVER_IMAGES: Readonly<Record<string, string>> = {
  cuda: 'ghcr.io/ggml-org/llama.cpp:server-cuda',
  vulkan: 'ghcr.io/ggml-org/llama.cpp:server-vulkan',
};

/**
 * The llama.cpp server image for the accelerator a bundle was calibrated for:
 * the CUDA or Vulkan build for those backends, the CPU build otherwise.
 *
 * @example
 * serverImageFor('cuda'); // 'ghcr.io/ggml-org/llama.cpp:server-cuda'
 */
export function serverImageFor(backend: string | undefined): string {
  return (backend !== undefined && GPU_SERVER_IMAGES[backend]) || DEFAULT_SERVER_IMAGE;
}

/**
 * Extended resources a Kubernetes pod asks for to get the accelerator: one
 * GPU from NVIDIA's device plugin for CUDA. Vulkan devices have no common
 * resource name (each vendor's plugin has its own), so none is asked for.
 */
function gpuResources(backend: string | undefined): Array<{ name: string; count: string }> {
  return backend === 'cuda' ? [{ name: 'nvidia.com/gpu', count: '1' }] : [];
}

/**
 * The device a container gets for the accelerator: NVIDIA's CDI name for all
 * its GPUs (podman --device, nvidia-container-toolkit's `nvidia-ctk cdi
 * generate`), or the DRI render nodes a Vulkan driver opens.
 */
function containerDevice(backend: string | undefined): string | undefined {
  if (backend === 'cuda') return 'nvidia.com/gpu=all';
  if (backend === 'vulkan') return '/dev/dri';
  return undefined;
}

/** Where the two-stage configs get the bundle and the runtime that serves it. */
export interface TwoStageOptions {
  /** The published bundle, pinned by digest: `registry/repo@sha256:<hex>`. */
  bundleUri: string;
  /** The alki-runtime image (`alki image runtime`). */
  runtimeImage: string;
}

/** Template data of the update agent's unit. */
export interface AgentUnitData {
  channel: string;
  alkiPath: string;
  /**
   * `alki` arguments: `agent <channel> --dir ... --exec ...`, and `--policy <host copy>` when the bundle carries a
   * trust policy (the key file is added by the unit, %d being systemd's).
   */
  args: string[];
  /** systemd's StateDirectory= (under /var/lib), and its absolute path. */
  stateDirectory: string;
  stateDir: string;
  listen: string;
  registryEnvFile: string;
  memoryHighMiB: number;
  memoryMaxMiB: number;
}

/** Template data of the two-stage mode. */
export interface TwoStageData {
  bundleUri: string;
  /** `ALKI_BUNDLE_URI=<uri>`, one environment word. */
  environment: string[];
  /** The podman volume that keeps the pulled bundle across restarts. */
  volume: string;
  /** `podman run` arguments (after the program) of the systemd unit. */
  podmanRun: string[];
}

const PINNED = /@sha256:[0-9a-f]{64}$/;

const MIB = 1024 * 1024;

/** The container secret's name (podman, compose), mounted at /run/secrets/<name>. */
export const API_KEY_SECRET = 'alki-api-key';

/**
 * How the configs verify a bundle that carries a trust policy. They read the
 * host's copy (installed once from a bundle the operator trusts), never the
 * bundle's own metadata/trust-policy.json: a policy inside the bundle it
 * judges would vouch for whoever replaced both.
 */
export interface TrustPolicyData {
  /** The host's copy, mounted into the two-stage containers and read by the systemd unit's check. */
  hostFile: string;
  /** Where the two-stage containers see it: ALKI_TRUST_POLICY's value. */
  containerFile: string;
  /** The folder the k3s ConfigMap is mounted at (key `policy.json`). */
  containerDir: string;
  /** The ConfigMap (key `policy.json`) that holds it for k3s and Helm. */
  configMap: string;
  /** The policy itself (JSON), for the ConfigMap. */
  text: string;
  /** The alki CLI on the host. */
  alkiPath: string;
  /** The systemd unit's check before each start: `alki verify <installDir> --policy <hostFile>`. */
  verifyArgs: string[];
}

/** The data every deploy template gets; plain values, escaped by the templates' helpers. */
export interface DeployData {
  name: string;
  slug: string;
  version: string;
  description: string;
  objectName: string;
  labelVersion: string;
  /** The Helm chart's version: the bundle version when it is SemVer 2, else 0.0.0-bundle-<version>. */
  chartVersion: string;
  installDir: string;
  hostModelsDir: string;
  serverPath: string;
  serverArgs: string[];
  containerArgs: string[];
  image: string;
  modelCopy: [string, string];
  /** The vision projector's COPY into the image, for a bundle that serves one. */
  projectorCopy?: [string, string];
  port: number;
  /** The port as text, for annotation values (YAML strings). */
  portText: string;
  healthPath: string;
  healthTimeoutSeconds: number;
  healthCommand: string[];
  privateDevices: 'yes' | 'no';
  cpuRequest: string;
  memoryRequest: string;
  memoryLimit: string;
  memoryRequestMiB: number;
  memoryLimitMiB: number;
  modelMiB: number;
  kvCacheMiB: number;
  /** Requests served at once, each with `ctx` tokens of its own. */
  parallel: number;
  /** The host file the systemd unit loads the API keys from as a credential. */
  apiKeyCredential: string;
  /** The Kubernetes Secret (key `api-key`) the Deployment takes the API keys from. */
  apiKeySecret: string;
  /** Where a container secret holding the API keys is mounted. */
  apiKeyFile: string;
  /** The container secret (podman, compose) holding the API keys, mounted at `apiKeyFile`. */
  apiKeyContainerSecret: string;
  /** The host file the compose file makes that secret from. */
  apiKeyComposeFile: string;
  ctx: number;
  /** The accelerator the bundle was calibrated for (`cuda`, `cpu`...), absent without a profile. */
  accelerator?: string;
  /** The calibrated device, for comments and annotations. */
  acceleratorDevice?: string;
  /** Extended resources the k3s container's limits ask for (`nvidia.com/gpu`). */
  gpuResources: Array<{ name: string; count: string }>;
  /** The quadlet's AddDevice= for the accelerator (a CDI name or a device path). */
  gpuDevice?: string;
  /** A device path the compose service maps (Vulkan's /dev/dri). */
  hostDevice?: string;
  /** The compose service reserves an NVIDIA GPU (CUDA). */
  nvidiaGpu: boolean;
  /** The health check in exec form with its CMD marker, for compose. */
  healthCommandForm: string[];
  podmanPath: string;
  /** Set in the two-stage mode, where the runtime image pulls the bundle itself. */
  twoStage?: TwoStageData;
  /** Set when the bundle carries a trust policy (`alki pack --trust-policy`). */
  trustPolicy?: TrustPolicyData;
  /** Set when the bundle names an agent channel (runtime.json `agent`). */
  agent?: AgentUnitData;
}

/** The update agent's unit data for a bundle that names a channel. Pure. */
function agentUnitData(
  channel: string,
  slug: string,
  objectName: string,
  server: RuntimeManifest['server'],
  memory: { requestMiB: number; limitMiB: number },
  alkiPath: string,
  trustPolicyFile: string | undefined,
): AgentUnitData {
  const stateDirectory = `alki-agent-${slug}`;
  const stateDir = `/var/lib/${stateDirectory}`;
  return {
    channel,
    alkiPath,
    args: [
      'agent',
      channel,
      '--dir',
      stateDir,
      '--exec',
      '--host',
      server.host,
      '--port',
      String(server.port),
      '--listen',
      AGENT_LISTEN,
      // The host's copy of the policy, as the server unit's check reads it: every release must pass it.
      ...(trustPolicyFile === undefined ? [] : ['--policy', trustPolicyFile]),
    ],
    stateDirectory,
    stateDir,
    listen: AGENT_LISTEN,
    registryEnvFile: `/etc/alki/${objectName}-agent.env`,
    memoryHighMiB: memory.requestMiB + AGENT_OVERHEAD_MIB,
    memoryMaxMiB: memory.limitMiB + AGENT_OVERHEAD_MIB,
  };
}

/** The template data for a bundle. Pure. */
export function deployData(
  content: BundleContent,
  runtime: RuntimeManifest,
  options: DeployOptions = {},
): DeployData {
  const installDir = `${options.installRoot ?? DEFAULT_INSTALL_ROOT}/${content.slug}`;
  const modelRelative = artifactPath(runtime.model);
  const modelFile = modelRelative.slice(modelRelative.lastIndexOf('/') + 1);
  const projectorRelative = runtime.mmproj === undefined ? undefined : artifactPath(runtime.mmproj);
  const projectorFile = projectorRelative?.slice(projectorRelative.lastIndexOf('/') + 1);
  const artifact = content.artifacts.find((a) => a.uri === runtime.model) ?? content.artifacts[0];
  const projector = content.artifacts.find((a) => a.uri === runtime.mmproj);
  const parallel = slotCount(runtime.args);
  // The projector's weights are loaded beside the model's.
  const memory = estimateMemory(
    content.facts,
    artifact.size + (projector?.size ?? 0),
    runtime.args.ctx,
    parallel,
  );
  const objectName = `alki-${content.slug}`.slice(0, 63).replace(/-+$/, '');
  const { accelerator } = runtime;
  const trustPolicyFile = options.trustPolicyFile ?? `/etc/alki/${objectName}.trust-policy.json`;
  const alkiPath = options.alkiPath ?? DEFAULT_ALKI_PATH;
  return {
    name: content.name,
    slug: content.slug,
    version: content.version,
    description: `${content.name} (${artifact.quant}) served by llama.cpp`,
    objectName,
    // Label values: 63 characters of [A-Za-z0-9._-] (Kubernetes "Labels and Selectors").
    labelVersion: content.version
      .replace(/[^A-Za-z0-9._-]/g, '-')
      .slice(0, 63)
      .replace(/[^A-Za-z0-9]+$/, ''),
    chartVersion: SEMVER.test(content.version)
      ? content.version
      : `0.0.0-bundle-${content.version.replace(/[^0-9A-Za-z-]/g, '-')}`,
    installDir,
    hostModelsDir: `${installDir}/models`,
    serverPath: options.serverPath ?? DEFAULT_SERVER_PATH,
    serverArgs: llamaServerArgs(
      runtime,
      `${installDir}/${modelRelative}`,
      content.name,
      projectorRelative && `${installDir}/${projectorRelative}`,
    ),
    containerArgs: llamaServerArgs(
      { ...runtime, server: { ...runtime.server, host: '0.0.0.0' } },
      `/models/${modelFile}`,
      content.name,
      projectorFile && `/models/${projectorFile}`,
    ),
    image: options.serverImage ?? serverImageFor(accelerator?.backend),
    modelCopy: [modelRelative, `/models/${modelFile}`],
    ...(projectorRelative ? { projectorCopy: [projectorRelative, `/models/${projectorFile}`] } : {}),
    port: runtime.server.port,
    portText: String(runtime.server.port),
    healthPath: runtime.health.path,
    healthTimeoutSeconds: Math.max(1, Math.ceil(runtime.health.timeout_s)),
    healthCommand: ['curl', '-f', `http://localhost:${runtime.server.port}${runtime.health.path}`],
    healthCommandForm: ['CMD', 'curl', '-f', `http://localhost:${runtime.server.port}${runtime.health.path}`],
    // GPU offload (a layer count, or auto) needs /dev/nvidia* or /dev/dri; a model kept on the CPU (0) gets no devices at all.
    privateDevices: runtime.args.ngl === 0 ? 'yes' : 'no',
    cpuRequest: runtime.args.threads === 'auto' ? '1' : String(runtime.args.threads),
    memoryRequest: `${memory.requestMiB}Mi`,
    memoryLimit: `${memory.limitMiB}Mi`,
    memoryRequestMiB: memory.requestMiB,
    memoryLimitMiB: memory.limitMiB,
    modelMiB: Math.ceil(memory.modelBytes / MIB),
    kvCacheMiB: Math.ceil(memory.kvCacheBytes / MIB),
    parallel,
    ctx: runtime.args.ctx,
    ...(accelerator
      ? {
          accelerator: accelerator.backend,
          acceleratorDevice: [accelerator.device, ...accelerator.devices].join(', '),
        }
      : {}),
    gpuResources: gpuResources(accelerator?.backend),
    // Keys never appear in a deploy file: each format names where its platform keeps secrets.
    apiKeyCredential: `/etc/credstore/${objectName}.api-key`,
    apiKeySecret: `${objectName}-api-key`,
    apiKeyFile: `/run/secrets/${API_KEY_SECRET}`,
    apiKeyContainerSecret: API_KEY_SECRET,
    apiKeyComposeFile: `/etc/alki/${objectName}.api-key`,
    ...(containerDevice(accelerator?.backend) ? { gpuDevice: containerDevice(accelerator?.backend) } : {}),
    ...(accelerator?.backend === 'vulkan' ? { hostDevice: '/dev/dri' } : {}),
    nvidiaGpu: accelerator?.backend === 'cuda',
    podmanPath: options.podmanPath ?? DEFAULT_PODMAN_PATH,
    ...(content.trustPolicy !== undefined
      ? {
          trustPolicy: {
            hostFile: trustPolicyFile,
            containerFile: CONTAINER_TRUST_POLICY,
            containerDir: path.posix.dirname(CONTAINER_TRUST_POLICY),
            configMap: `${objectName}-trust-policy`,
            text: content.trustPolicy,
            alkiPath,
            verifyArgs: ['verify', installDir, '--policy', trustPolicyFile],
          },
        }
      : {}),
    ...(runtime.agent
      ? {
          agent: agentUnitData(
            runtime.agent.channel,
            content.slug,
            objectName,
            runtime.server,
            memory,
            alkiPath,
            content.trustPolicy === undefined ? undefined : trustPolicyFile,
          ),
        }
      : {}),
  };
}

const renderUnit = loadTemplate<DeployData>('systemd.service.hbs');
const renderDeployment = loadTemplate<DeployData>('k3s-deployment.yaml.hbs');
const renderService = loadTemplate<DeployData>('k3s-service.yaml.hbs');
const renderTrustConfigMap = loadTemplate<DeployData>('k3s-trust-policy.yaml.hbs');
const renderDockerfile = loadTemplate<DeployData>('Dockerfile.hbs');
const renderQuadlet = loadTemplate<DeployData>('podman.container.hbs');
const renderCompose = loadTemplate<DeployData>('compose.yaml.hbs');
const renderRuntimeUnit = loadTemplate<DeployData>('systemd-runtime.service.hbs');
const renderAgentUnit = loadTemplate<DeployData>('systemd-agent.service.hbs');
const renderChart = loadTemplate<DeployData>('helm/Chart.yaml.hbs');
const renderChartValues = loadTemplate<DeployData>('helm/values.yaml.hbs');
// The chart's own templates are Helm's (Go templates over values.yaml), shipped as they are.
const CHART_FILES = [
  'values.schema.json',
  'templates/_helpers.tpl',
  'templates/deployment.yaml',
  'templates/service.yaml',
  'templates/trust-policy.yaml',
  'templates/NOTES.txt',
].map((file) => ({ file, text: loadStaticTemplate(`helm/${file}`) }));

/** SemVer 2 (semver.org), which Helm requires of a chart's version. */
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/;

/** A Helm chart of the k3s Deployment and Service, for both modes (values.yaml says how). */
function renderHelmChart(data: DeployData): Array<{ path: string; text: string }> {
  const dir = helmChartPath(data.objectName);
  return [
    { path: `${dir}/Chart.yaml`, text: renderChart(data) },
    { path: `${dir}/values.yaml`, text: renderChartValues(data) },
    ...CHART_FILES.map(({ file, text }) => ({ path: `${dir}/${file}`, text })),
  ];
}

/** Renders each deploy file from template data. Pure. */
export function renderDeployTemplates(data: DeployData): Array<{ path: string; text: string }> {
  return [
    { path: systemdUnitPath(data.slug), text: renderUnit(data) },
    ...(data.agent ? [{ path: agentUnitPath(data.slug), text: renderAgentUnit(data) }] : []),
    { path: K3S_DEPLOYMENT_PATH, text: renderDeployment(data) },
    { path: K3S_SERVICE_PATH, text: renderService(data) },
    { path: DOCKERFILE_PATH, text: renderDockerfile(data) },
    { path: quadletPath(data.slug), text: renderQuadlet(data) },
    { path: COMPOSE_PATH, text: renderCompose(data) },
    ...renderHelmChart(data),
  ];
}

/**
 * The deploy/ files of a bundle: a hardened systemd unit, a k3s Deployment
 * and Service, a Dockerfile FROM the llama.cpp server image, a Podman
 * quadlet and a compose file. They serve the bundle from where it is
 * installed (the systemd unit, k3s and the quadlet) or from its own folder
 * (compose, the Dockerfile).
 */
export function renderDeployFiles(
  content: BundleContent,
  runtime: RuntimeManifest,
  options: DeployOptions = {},
): Array<{ path: string; text: string }> {
  return renderDeployTemplates(deployData(content, runtime, options));
}

/**
 * The deploy files of the two-stage mode, for a bundle published at
 * `bundleUri` (pinned by digest): the alki-runtime image pulls it, verifies
 * every digest and serves it, so hosts need no copy of the bundle. A systemd
 * unit that runs the runtime with podman, a k3s Deployment and Service, a
 * Podman quadlet and a compose file; paths are relative to the output
 * folder (`systemd/`, `k3s/`, `podman/`, `compose/`).
 *
 * @example
 * renderTwoStageFiles(content, runtime, {
 *   bundleUri: 'registry.local/models/qwen3@sha256:' + 'ab'.repeat(32),
 *   runtimeImage: 'registry.local/alki-runtime:1',
 * });
 */
export function renderTwoStageFiles(
  content: BundleContent,
  runtime: RuntimeManifest,
  twoStage: TwoStageOptions,
  options: DeployOptions = {},
): Array<{ path: string; text: string }> {
  if (!PINNED.test(twoStage.bundleUri)) {
    throw new BundlerError(
      'INVALID_INPUT',
      `The two-stage configs need the bundle pinned by digest, not ${JSON.stringify(twoStage.bundleUri)}.`,
      { hint: 'Name it as registry/repository@sha256:<digest>, as `alki publish` prints it.' },
    );
  }
  const base = deployData(content, runtime, { ...options, serverImage: twoStage.runtimeImage });
  const volume = `${base.objectName}-bundle`;
  const policy = base.trustPolicy;
  const environment = [
    `ALKI_BUNDLE_URI=${twoStage.bundleUri}`,
    ...(policy ? [`ALKI_TRUST_POLICY=${policy.containerFile}`] : []),
  ];
  const data: DeployData = {
    ...base,
    twoStage: {
      bundleUri: twoStage.bundleUri,
      environment,
      volume,
      podmanRun: [
        'run',
        '--rm',
        '--init',
        '--name',
        base.objectName,
        '--env',
        'ALKI_BUNDLE_URI',
        // The runtime verifies the bundle's signatures against the host's policy before serving it.
        ...(policy
          ? ['--env', 'ALKI_TRUST_POLICY', '--volume', `${policy.hostFile}:${policy.containerFile}:ro`]
          : []),
        // The key: the unit's credential, made a podman secret before the start (never on a command line).
        '--secret',
        `${base.apiKeySecret},type=mount,target=${base.apiKeyFile}`,
        '--env',
        `LLAMA_ARG_API_KEY_FILE=${base.apiKeyFile}`,
        '--publish',
        `${base.port}:${base.port}`,
        '--volume',
        `${volume}:/var/lib/alki`,
        ...(base.gpuDevice ? ['--device', base.gpuDevice] : []),
        '--read-only',
        '--security-opt',
        'no-new-privileges',
        '--cap-drop',
        'all',
        '--memory',
        `${base.memoryLimitMiB}m`,
        twoStage.runtimeImage,
      ],
    },
  };
  return [
    { path: `systemd/${base.objectName}.service`, text: renderRuntimeUnit(data) },
    { path: 'k3s/deployment.yaml', text: renderDeployment(data) },
    { path: 'k3s/service.yaml', text: renderService(data) },
    { path: `podman/${base.objectName}.container`, text: renderQuadlet(data) },
    { path: 'compose/compose.yaml', text: renderCompose(data) },
    ...(policy
      ? [
          { path: 'k3s/trust-policy.yaml', text: renderTrustConfigMap(data) },
          // The policy to install at `hostFile` on each host (systemd, quadlet, compose).
          { path: 'trust-policy.json', text: policy.text },
        ]
      : []),
  ];
}
