import { PASSPHRASE_ENV } from '../environment.js';
import type { AlkiCommandBody } from '../context.js';

/** A top-level command as `alki --help` lists it; the rest of it is loaded only when it runs or shows its help. */
export interface CommandEntry {
  /** The yargs command string, positionals included. */
  command: string;
  describe: string;
  /** Its options and handler: the module that imports the libraries the command calls. */
  load: () => Promise<AlkiCommandBody>;
}

// Every top-level command, in the order `alki --help` lists them: the main
// job first, then the pipeline's steps in the order a model meets them. Each
// command file only parses arguments and calls a library, and is imported
// only for the command that runs, so `alki --version` and `alki --help` load
// no library at all (tools/bench/cli-startup.ts).
export const commands: CommandEntry[] = [
  {
    command: 'pack [source]',
    describe:
      'Pack a model (local .gguf, local HF model folder, or org/name on the hub) into a deployment bundle',
    load: async () => (await import('./pack.js')).packCommand,
  },
  {
    command: 'inspect <model>',
    describe:
      'Summarise a GGUF (local file, URL, or Hugging Face repo) from its header, without reading the weights',
    load: async () => (await import('./inspect.js')).inspectCommand,
  },
  {
    command: 'convert <input>',
    describe: 'Convert a Hugging Face safetensors model (folder or HF cache entry) to GGUF',
    load: async () => (await import('./convert.js')).convertCommand,
  },
  {
    command: 'imatrix <model>',
    describe:
      'Compute an importance matrix for --imatrix quantization by running the model over calibration text (llama-imatrix)',
    load: async () => (await import('./imatrix.js')).imatrixCommand,
  },
  {
    command: 'quantize <input> <output> <mix>',
    describe:
      'Quantize a GGUF to a llama.cpp mix (Q4_K_M, Q5_K_M, ...), byte for byte as llama-quantize does',
    load: async () => (await import('./quantize.js')).quantizeCommand,
  },
  {
    command: 'validate <target>',
    describe:
      'Prove a model (GGUF, bundle, or org/name on the hub) loads, tokenizes, renders its chat template and generates',
    load: async () => (await import('./validate.js')).validateCommand,
  },
  {
    command: 'calibrate [targets..]',
    describe:
      'Measure which quant, context and threads this machine should run: speed, quality against the reference, memory, a recommendation',
    load: async () => (await import('./calibrate.js')).calibrateCommand,
  },
  {
    command: 'serve <target>',
    describe:
      'Serve a model with an OpenAI-compatible API (/v1/chat/completions, /v1/completions, /v1/models, /health, /metrics)',
    load: async () => (await import('./serve.js')).serveCommand,
  },
  {
    command: 'verify <bundle>',
    describe:
      'Check a bundle: validate its manifest and SBOM, recompute every hash; with --key, --certificate-identity or --policy, also its signatures',
    load: async () => (await import('./verify.js')).verifyCommand,
  },
  {
    command: 'keygen',
    describe: `Make an ECDSA P-256 key pair for \`alki sign --key\`, the private key encrypted with a passphrase (${PASSPHRASE_ENV} or a prompt)`,
    load: async () => (await import('./keygen.js')).keygenCommand,
  },
  {
    command: 'sign <target>',
    describe:
      'Sign a bundle: a Sigstore signature over its manifest, and signed SLSA provenance, in metadata/signatures/',
    load: async () => (await import('./sign.js')).signCommand,
  },
  {
    command: 'publish <bundle>',
    describe: 'Push a bundle to an OCI registry (or an OCI layout dir) as a CNCF ModelPack artifact',
    load: async () => (await import('./publish.js')).publishCommand,
  },
  {
    command: 'pull <ref>',
    describe:
      'Pull a published bundle and restore it byte for byte, every file checked against its digest and the bundle manifest',
    load: async () => (await import('./pull.js')).pullCommand,
  },
  {
    command: 'tags <repo>',
    describe: 'List the tags of a bundle repository, each with the immutable digest it points at',
    load: async () => (await import('./tags.js')).tagsCommand,
  },
  {
    command: 'image <command>',
    describe: 'Container images without a Docker daemon: build, base, runtime, test, list',
    load: async () => (await import('./image.js')).imageCommand,
  },
  {
    command: 'agent <channel>',
    describe:
      'Keep this device serving the bundle a registry channel names: download beside the served one, switch atomically, health-check, roll back',
    load: async () => (await import('./agent.js')).agentCommand,
  },
  {
    command: 'fleet <command>',
    describe:
      'Fleets of devices: validate the inventory, plan GitOps rollouts, report A/B tests, scrape status',
    load: async () => (await import('./fleet.js')).fleetCommand,
  },
  {
    command: 'tools <command>',
    describe: 'Native llama.cpp tools: build them from the bundled source, or show where they are',
    load: async () => (await import('./tools.js')).toolsCommand,
  },
  {
    command: 'doctor',
    describe:
      'Check this machine for what each command needs, one line per check with the command that fixes it',
    load: async () => (await import('./doctor.js')).doctorCommand,
  },
];

// One example per command group, shown by `alki --help`.
export const examples: Array<[command: string, description: string]> = [
  [
    '$0 pack --demo',
    'Pack a tiny demo model, generated offline, into ./dist/alki-demo; then `alki verify ./dist/alki-demo`',
  ],
  [
    '$0 inspect model.gguf',
    'Summarise a GGUF (file, URL or org/name): architecture, parameters, quantization, memory',
  ],
  [
    '$0 convert ./TinyLlama-1.1B-Chat -o tinyllama-f16.gguf',
    'Convert a Hugging Face safetensors model to GGUF (f32, f16, bf16 or q8_0)',
  ],
  [
    '$0 imatrix model-f16.gguf -o model.imatrix.gguf',
    'Compute an importance matrix over calibration text, for --imatrix quantization',
  ],
  [
    '$0 quantize model-f16.gguf model-q4_k_m.gguf Q4_K_M',
    'Quantize a GGUF in TypeScript, byte for byte as llama-quantize does',
  ],
  [
    '$0 validate model.gguf --score',
    'Prove a model loads, tokenizes and generates; report tokens/s and memory',
  ],
  [
    '$0 calibrate --probe-only',
    'Probe this machine: CPU, SIMD features, memory, cgroup limits, GPUs, bandwidth',
  ],
  ['$0 serve model.gguf --port 8080', 'Serve a model with an OpenAI-compatible API and Prometheus /metrics'],
  [
    '$0 verify ./dist/alki-demo',
    'Recompute every hash of a bundle and report tampered, missing and extra files',
  ],
  [
    '$0 sign ./dist/alki-demo --key alki.key',
    'Sign a bundle offline (after `alki keygen`); `alki verify --key alki.pub` checks it',
  ],
  [
    '$0 image build ./dist/qwen3 --tag acme/qwen3:latest',
    'Build a llama-server container image from a bundle, no Docker daemon needed',
  ],
  [
    '$0 publish ./dist/qwen3 --registry registry.example.com/ai --tag v1.0.0',
    'Push a bundle to an OCI registry as a ModelPack artifact; `alki pull` and `alki tags` read it back',
  ],
  [
    '$0 fleet plan fleet.yaml --bundle REF@sha256:... --strategy canary -o gitops',
    'Plan a rollout to a fleet: kustomize overlays, Argo CD and Argo Rollouts, pinned by digest',
  ],
  [
    '$0 agent registry.example.com/ai/qwen3:stable --dir /var/lib/alki/qwen3 --exec',
    'Follow a channel on a device: download, switch, health-check, roll back; serve with alki serve',
  ],
  ['$0 tools build', 'Build the native llama.cpp tools from the bundled source (once, cached)'],
  ['$0 doctor', 'Check this machine for what each command needs, with the command that fixes each gap'],
];
