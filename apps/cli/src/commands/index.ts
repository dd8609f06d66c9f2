import type { AlkiCommand } from '../context.js';
import { agentCommand } from './agent.js';
import { calibrateCommand } from './calibrate.js';
import { convertCommand } from './convert.js';
import { doctorCommand } from './doctor.js';
import { fleetCommand } from './fleet.js';
import { imageCommand } from './image.js';
import { imatrixCommand } from './imatrix.js';
import { inspectCommand } from './inspect.js';
import { keygenCommand } from './keygen.js';
import { packCommand } from './pack.js';
import { quantizeCommand } from './quantize.js';
import { publishCommand } from './publish.js';
import { pullCommand } from './pull.js';
import { serveCommand } from './serve.js';
import { signCommand } from './sign.js';
import { tagsCommand } from './tags.js';
import { toolsCommand } from './tools.js';
import { validateCommand } from './validate.js';
import { verifyCommand } from './verify.js';

// Every top-level command, in the order `alki --help` lists them: the main
// job first, then the pipeline's steps in the order a model meets them. Each
// command file only parses arguments and calls a library.
export const commands: AlkiCommand[] = [
  packCommand,
  inspectCommand,
  convertCommand,
  imatrixCommand,
  quantizeCommand,
  validateCommand,
  calibrateCommand,
  serveCommand,
  verifyCommand,
  keygenCommand,
  signCommand,
  publishCommand,
  pullCommand,
  tagsCommand,
  agentCommand,
  imageCommand,
  fleetCommand,
  toolsCommand,
  doctorCommand,
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
