import { PASSPHRASE_ENV } from '../environment.js';

/** A top-level command as `alki --help` lists it. */
export interface CommandSummary {
  /** The yargs command string, positionals included. */
  command: string;
  describe: string;
}

/** The name a command is run by: the first word of its command string. */
export type CommandName<C extends string> = C extends `${infer Name} ${string}` ? Name : C;

// Every top-level command, in the order `alki --help` lists them: the main
// job first, then the pipeline's steps in the order a model meets them. This
// module imports no command, so any command (doctor) may list the others.
export const COMMANDS = [
  {
    command: 'pack [source]',
    describe:
      'Pack a model (local .gguf, local HF model folder, or org/name on the hub) into a deployment bundle',
  },
  {
    command: 'inspect <model>',
    describe:
      'Summarise a GGUF (local file, URL, or Hugging Face repo) from its header, without reading the weights',
  },
  {
    command: 'convert <input>',
    describe: 'Convert a Hugging Face safetensors model (folder or HF cache entry) to GGUF',
  },
  {
    command: 'imatrix <model>',
    describe:
      'Compute an importance matrix for --imatrix quantization by running the model over calibration text (llama-imatrix)',
  },
  {
    command: 'quantize <input> <output> <mix>',
    describe:
      'Quantize a GGUF to a llama.cpp mix (Q4_K_M, Q5_K_M, ...), byte for byte as llama-quantize does',
  },
  {
    command: 'validate <target>',
    describe:
      'Prove a model (GGUF, bundle, or org/name on the hub) loads, tokenizes, renders its chat template and generates',
  },
  {
    command: 'calibrate [targets..]',
    describe:
      'Measure which quant, context and threads this machine should run: speed, quality against the reference, memory, a recommendation',
  },
  {
    command: 'serve <target>',
    describe:
      'Serve a model with an OpenAI-compatible API (/v1/chat/completions, /v1/completions, /v1/models, /health, /metrics)',
  },
  {
    command: 'verify <bundle>',
    describe:
      'Check a bundle: validate its manifest and SBOM, recompute every hash; with --key, --certificate-identity or --policy, also its signatures (of a directory, or attached to a published bundle)',
  },
  {
    command: 'keygen',
    describe: `Make an ECDSA P-256 key pair for \`alki sign --key\`, the private key encrypted with a passphrase (${PASSPHRASE_ENV} or a prompt)`,
  },
  {
    command: 'sign <target>',
    describe:
      'Sign a bundle: a Sigstore signature over its manifest, and signed SLSA provenance, in metadata/signatures/ (or attached to a published bundle as OCI referrers)',
  },
  {
    command: 'publish <bundle>',
    describe:
      'Push a bundle to an OCI registry (or an OCI layout dir) as a CNCF ModelPack artifact, its signatures attached as referrers (--sign: sign it too)',
  },
  {
    command: 'pull <ref>',
    describe:
      'Pull a published bundle and restore it byte for byte, every file checked against its digest and the bundle manifest (--verify: and its signatures, before writing anything)',
  },
  {
    command: 'tags <repo>',
    describe: 'List the tags of a bundle repository, each with the immutable digest it points at',
  },
  {
    command: 'image <command>',
    describe: 'Container images without a Docker daemon: build, base, runtime, test, list',
  },
  {
    command: 'agent <channel>',
    describe:
      'Keep this device serving the bundle a registry channel names: download beside the served one, switch atomically, health-check, roll back',
  },
  {
    command: 'fleet <command>',
    describe:
      'Fleets of devices: validate the inventory, plan GitOps rollouts, report A/B tests, scrape status',
  },
  {
    command: 'tools <command>',
    describe: 'Native llama.cpp tools: build them from the bundled source, or show where they are',
  },
  {
    command: 'doctor',
    describe:
      'Check this machine for what each command needs, one line per check with the command that fixes it',
  },
] as const satisfies readonly CommandSummary[];

/**
 * The name of a listed command.
 *
 * @example
 * commandName({ command: 'pack [source]', describe: '' }); // 'pack'
 */
export function commandName<C extends string>(summary: { command: C }): CommandName<C> {
  return summary.command.split(' ')[0] as CommandName<C>;
}
