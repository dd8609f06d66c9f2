import type { AlkiCommandBody } from '../context.js';
import { commandName, COMMANDS, type CommandSummary } from './catalog.js';

/** A listed command, and the rest of it, loaded only when it runs or shows its help. */
export interface CommandEntry extends CommandSummary {
  /** Its options and handler: the module that imports the libraries the command calls. */
  load: () => Promise<AlkiCommandBody>;
}

// Each command file only parses arguments and calls a library, and is imported
// only for the command that runs, so `alki --version` and `alki --help` load
// no library at all (tools/bench/cli-startup.ts).
const LOADERS: Record<CommandName, () => Promise<AlkiCommandBody>> = {
  pack: async () => (await import('./pack.js')).packCommand,
  inspect: async () => (await import('./inspect.js')).inspectCommand,
  convert: async () => (await import('./convert.js')).convertCommand,
  imatrix: async () => (await import('./imatrix.js')).imatrixCommand,
  quantize: async () => (await import('./quantize.js')).quantizeCommand,
  validate: async () => (await import('./validate.js')).validateCommand,
  calibrate: async () => (await import('./calibrate.js')).calibrateCommand,
  serve: async () => (await import('./serve.js')).serveCommand,
  verify: async () => (await import('./verify.js')).verifyCommand,
  keygen: async () => (await import('./keygen.js')).keygenCommand,
  sign: async () => (await import('./sign.js')).signCommand,
  publish: async () => (await import('./publish.js')).publishCommand,
  pull: async () => (await import('./pull.js')).pullCommand,
  tags: async () => (await import('./tags.js')).tagsCommand,
  image: async () => (await import('./image.js')).imageCommand,
  agent: async () => (await import('./agent.js')).agentCommand,
  fleet: async () => (await import('./fleet.js')).fleetCommand,
  tools: async () => (await import('./tools.js')).toolsCommand,
  doctor: async () => (await import('./doctor.js')).doctorCommand,
};

type CommandName = ReturnType<typeof commandName<(typeof COMMANDS)[number]['command']>>;

/** Every top-level command, in the order of the catalog. */
export const commands: CommandEntry[] = COMMANDS.map((summary) => ({
  ...summary,
  load: LOADERS[commandName(summary)],
}));

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
