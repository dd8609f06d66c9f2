import {
  artifactPath,
  modelArtifacts,
  pack,
  packDemo,
  readBundle,
  shellArgument,
  updateBundleRuntime,
  type PackProgress,
  type PackResult,
  type StagedBundle,
} from '@alki/bundler';
import { profileSettings, readProfile, type ProfileSettings } from '@alki/calibrate';
import { RuntimeError, validateGgufModel, type ModelReport } from '@alki/runtime';
import { loadTrustPolicy, type TrustPolicyDocument } from '@alki/signer';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Argv } from 'yargs';
import { withContext, type AlkiCommandBody, type GlobalOptions } from '../context.js';
import { parseGpuLayers, refuseSpecialFile } from '../flags.js';
import type { ProgressReporter } from '../progress.js';
import { CliError } from '../errors.js';

interface PackArgs extends GlobalOptions {
  source?: string;
  name?: string;
  out?: string;
  quantize?: string;
  imatrix?: string;
  filename?: string;
  mmproj?: string | false;
  revision?: string;
  token?: string;
  contextSize?: number;
  profile?: string;
  parallel?: number;
  ngl?: string;
  trustPolicy?: string;
  agentChannel?: string;
  force: boolean;
  link: boolean;
  demo: boolean;
}

function render(result: PackResult): string {
  const { manifest } = result;
  const lines = [
    `${result.replaced ? 'replaced' : 'packed'} ${result.dir}`,
    `  ${manifest.name} ${manifest.version} (${manifest.architecture}, ${manifest.parameter_count} parameters)`,
  ];
  for (const artifact of manifest.artifacts)
    lines.push(
      `  ${artifact.quant.padEnd(8)} ${artifact.uri} ${artifact.size} bytes sha256:${artifact.sha256}${artifact.role === 'mmproj' ? ' (vision projector)' : ''}`,
    );
  return lines.join('\n');
}

/**
 * The policy `--trust-policy` names, checked by @alki/signer's loader (the
 * one `alki verify --policy` uses), made self-contained for the bundle to
 * carry: key files and a trusted root named by path are put inline, since
 * nothing beside the policy travels with it.
 */
async function bundledTrustPolicy(file: string): Promise<string> {
  await loadTrustPolicy(file);
  const document = JSON.parse(await readFile(file, 'utf8')) as TrustPolicyDocument;
  const dir = path.dirname(path.resolve(file));
  const keys = await Promise.all(
    (document.keys ?? []).map(async ({ path: keyFile, ...key }) =>
      keyFile === undefined
        ? key
        : { ...key, public_key: await readFile(path.resolve(dir, keyFile), 'utf8') },
    ),
  );
  const trustedRoot =
    typeof document.trusted_root === 'string'
      ? (JSON.parse(await readFile(path.resolve(dir, document.trusted_root), 'utf8')) as Record<
          string,
          unknown
        >)
      : document.trusted_root;
  const text = `${JSON.stringify(
    {
      ...document,
      ...(document.keys ? { keys } : {}),
      ...(trustedRoot !== undefined ? { trusted_root: trustedRoot } : {}),
    },
    null,
    2,
  )}\n`;
  // What the bundle carries must load on its own, as the runtime will load it.
  await loadTrustPolicy(text);
  return text;
}

// The demo proves its models load, tokenize and generate before the bundle
// is renamed into place: a model that fails (or a Ctrl-C) leaves no bundle.
async function validateArtifacts(
  staged: StagedBundle,
  info: (line: string) => void,
  signal: AbortSignal,
): Promise<ModelReport[]> {
  const reports: ModelReport[] = [];
  for (const artifact of staged.manifest.artifacts) {
    info(`Validating ${artifact.quant}: load, tokenize, chat template, generate...`);
    // One thread: the demo model is tiny, and on a busy 2-core machine two
    // threads spin against each other (16 tokens took 0.9 s with 2, 26 ms with 1).
    const report = await validateGgufModel(path.join(staged.dir, artifactPath(artifact.uri)), {
      maxTokens: 8,
      contextSize: 128,
      threads: 1,
      signal,
    });
    const failed = report.checks.find((check) => check.status === 'fail');
    if (failed) {
      throw new RuntimeError(
        'VALIDATION_FAILED',
        `The demo's ${artifact.quant} model failed the ${failed.name} check: ${failed.message}`,
        { details: { report } },
      );
    }
    reports.push(report);
  }
  return reports;
}

export const packCommand: AlkiCommandBody = {
  builder: (y: Argv<GlobalOptions>) =>
    y
      .positional('source', {
        type: 'string',
        describe: 'A .gguf file, a Hugging Face model folder, or a hub repo id (org/name)',
      })
      .option('name', { type: 'string', describe: 'Bundle name (default: the model name)' })
      .option('out', { alias: 'o', type: 'string', describe: 'Bundle directory (default: ./dist/<name>)' })
      .option('quantize', {
        type: 'string',
        describe: 'Quantizations, comma-separated: Q4_K_M,Q8_0 (one model file each)',
      })
      .option('imatrix', {
        type: 'string',
        describe:
          'An importance matrix (alki imatrix or llama-imatrix) to quantize with; its sha256 and texts go into the manifest and SBOM',
      })
      .option('filename', {
        alias: 'f',
        type: 'string',
        describe: 'For GGUF repos on the hub: a glob picking one file, e.g. "*Q8_0.gguf"',
      })
      .option('mmproj', {
        type: 'string',
        describe:
          "The vision projector served beside the model (llama-server's --mmproj): for a .gguf source, its mmproj-*.gguf file; for a GGUF repo on the hub, a glob picking one (default: the repo's projector nearest the model's quant). A vision checkpoint's projector is converted with it; --no-mmproj packs the model alone",
      })
      .option('revision', { type: 'string', describe: 'Hub branch, tag or commit (default: main)' })
      .option('token', {
        type: 'string',
        describe: 'Hub token (default: $HF_TOKEN or the huggingface-cli login)',
      })
      .option('context-size', {
        alias: 'c',
        type: 'number',
        describe: 'Context size the bundle serves, per request (default: the model context, at most 4096)',
      })
      .option('ngl', {
        type: 'string',
        describe:
          "GPU layers the bundle's configs offload: auto (llama-server's fit to the device, the default) or a number, 0 for the CPU only",
      })
      .option('parallel', {
        type: 'number',
        describe: 'Requests the bundle serves at once, each with the whole context (default 4)',
      })
      .option('profile', {
        type: 'string',
        describe:
          'A calibration profile (alki calibrate --save-profile): serve its recommended quant, context and threads',
      })
      .option('trust-policy', {
        type: 'string',
        describe:
          'A trust policy (the JSON file of `alki verify --policy`) the bundle carries at metadata/trust-policy.json: its systemd unit runs `alki verify --policy` before each start, and the two-stage configs of `alki publish --deploy-out` give it to the runtime as ALKI_TRUST_POLICY. Hosts verify against their own copy of it',
      })
      .option('agent-channel', {
        type: 'string',
        describe:
          'The registry tag (or @sha256 digest) devices follow with alki agent: deploy/systemd gets the agent unit',
      })
      .option('force', {
        type: 'boolean',
        default: false,
        describe: 'Replace an existing bundle (atomically)',
      })
      .option('link', {
        type: 'boolean',
        default: false,
        describe: 'Hard-link model files instead of copying them (same file system only)',
      })
      .option('demo', {
        type: 'boolean',
        default: false,
        describe: 'Pack the built-in tiny demo model, generated locally and offline',
      })
      .example(
        '$0 pack --demo',
        'Generate, convert, quantize, validate and pack a tiny demo model into ./dist/alki-demo',
      )
      .example(
        '$0 pack Qwen/Qwen3-0.6B-GGUF --filename "*Q8_0.gguf" --out ./dist/qwen3',
        'Pack a GGUF from the hub',
      )
      .example(
        '$0 pack Qwen/Qwen3-0.6B --quantize Q4_K_M,Q8_0',
        'Convert and quantize a safetensors checkpoint from the hub',
      )
      .example('$0 pack ./model.gguf --name my-model --context-size 2048', 'Pack a local GGUF')
      .example(
        '$0 pack ./model-f16.gguf --quantize IQ4_XS,Q3_K_M --imatrix model.imatrix',
        'Quantize with an importance matrix, recorded in the manifest and SBOM',
      )
      .example(
        '$0 pack ./gemma-3-4b-it-Q4_K_M.gguf --mmproj ./mmproj-gemma-3-4b-it-f16.gguf',
        'Pack a vision-language model with its projector: every deploy config passes --mmproj',
      )
      .example(
        '$0 pack ./model.gguf --trust-policy policy.json',
        'Carry a trust policy: the deploy configs verify the signature before serving (sign with alki sign --key)',
      )
      .example(
        '$0 pack ./model-f16.gguf --quantize Q4_K_M,Q8_0 --profile host.json',
        'Pack two quants and serve the one, with the context and threads, that a calibration profile recommends',
      )
      .example(
        '$0 pack ./model.gguf --agent-channel registry.local:5000/models/my-model:stable',
        'Ship the unit of alki agent, which keeps a device on what the stable tag names',
      ),
  handler: withContext<PackArgs>(async (argv, { out, signal }) => {
    if (!argv.demo && !argv.source) throw new CliError('USAGE', 'Name a source to pack, or pass --demo.');
    if (argv.demo && argv.source)
      throw new CliError('USAGE', '--demo packs the built-in model; leave out the source.', {
        details: { flag: '--demo' },
      });
    if (argv.profile && argv.contextSize !== undefined)
      throw new CliError('USAGE', '--profile sets the context size; leave out --context-size.', {
        details: { flag: '--context-size' },
      });
    await refuseSpecialFile(argv.profile, '--profile');
    await refuseSpecialFile(argv.imatrix, '--imatrix');
    await refuseSpecialFile(argv.trustPolicy, '--trust-policy');
    // Checked before anything is downloaded or packed.
    const trustPolicy =
      argv.trustPolicy === undefined ? undefined : await bundledTrustPolicy(argv.trustPolicy);
    const settings: ProfileSettings | undefined = argv.profile
      ? profileSettings(await readProfile(argv.profile), argv.profile)
      : undefined;
    let bar: ProgressReporter | undefined;
    let phase: PackProgress['phase'] | undefined;
    // One bar per phase (download, convert, quantize, copy), and each step's sentence as a line.
    const onProgress = (event: PackProgress) => {
      if (event.phase !== phase || event.message) {
        bar?.done();
        bar = undefined;
        phase = event.phase;
      }
      if (event.message) out.info(event.message);
      if (event.done !== undefined) {
        bar ??= out.progress(event.phase, event.total);
        bar.update(event.done, event.total);
        if (event.file) bar.step(event.file);
      }
    };
    const common = {
      out: argv.out,
      name: argv.name,
      quantize: argv.quantize?.split(',').filter((q) => q.trim() !== ''),
      imatrix: argv.imatrix,
      contextSize: settings?.ctx ?? argv.contextSize,
      ...(settings ? { threads: settings.threads } : {}),
      parallel: argv.parallel,
      ngl: parseGpuLayers(argv.ngl),
      ...(trustPolicy !== undefined ? { trustPolicy } : {}),
      ...(argv.agentChannel !== undefined ? { agentChannel: argv.agentChannel } : {}),
      force: argv.force,
      link: argv.link,
      signal,
      onProgress,
    };
    let validation: ModelReport[] | undefined;
    const check = async (staged: StagedBundle) => {
      bar?.done();
      bar = undefined;
      validation = await validateArtifacts(staged, out.info.bind(out), signal);
    };
    if (argv.demo)
      out.info(
        'Packing the built-in demo: a tiny llama generated from a fixed seed, converted, quantized, validated.',
      );
    const result = argv.demo
      ? await packDemo({ ...common, check })
      : await pack({
          ...common,
          source: argv.source ?? '',
          filename: argv.filename,
          ...(argv.mmproj !== undefined ? { mmproj: argv.mmproj } : {}),
          revision: argv.revision,
          token: argv.token,
        });
    bar?.done();
    for (const note of result.notes) out.info(note);
    if (settings) {
      // pack serves the first quant; the profile's choice replaces it when the bundle holds it.
      const holdsQuant = modelArtifacts(result.manifest).some((a) => a.quant === settings.quant);
      // The accelerator is recorded either way: the bundle was calibrated for that device.
      await updateBundleRuntime(result.dir, {
        ...(holdsQuant ? { quant: settings.quant } : {}),
        accelerator: settings.accelerator,
      });
      const updated = await readBundle(result.dir);
      result.manifest = updated.manifest;
      result.runtime = updated.runtime;
      if (holdsQuant) {
        out.info(
          `Serving ${settings.quant} at context ${settings.ctx} with ${settings.threads} thread${settings.threads === 1 ? '' : 's'}, as ${argv.profile} recommends.`,
        );
      } else {
        out.warn(
          `${argv.profile} recommends ${settings.quant}, which this bundle does not hold; it serves ${result.manifest.artifacts[0].quant}. Add --quantize ${settings.quant}.`,
        );
      }
    }
    out.result(validation ? { ...result, validation } : result, () => render(result));
    const shown = shellArgument(path.relative(process.cwd(), result.dir) || '.');
    out.info(`Next: alki verify ${shown}, then alki serve ${shown}`);
  }),
};
