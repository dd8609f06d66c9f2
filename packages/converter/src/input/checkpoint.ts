import fs from 'node:fs/promises';
import path from 'node:path';
import { ConverterError } from '../errors.js';
import { readSafetensorsHeader } from '../safetensors/reader.js';
import type { SafetensorsTensorInfo } from '../safetensors/header.js';
import { readWholeFile } from '../safetensors/reader.js';

/** A tensor of the checkpoint: where its bytes are and what they are. */
export interface SourceTensor extends SafetensorsTensorInfo {
  file: string;
}

/** A Hugging Face checkpoint folder, indexed but not read. */
export interface Checkpoint {
  dir: string;
  config: Record<string, unknown>;
  /** Every tensor by its Hugging Face name. */
  tensors: Map<string, SourceTensor>;
  /** The hub repository and revision, when the folder is a snapshot in the HF cache. */
  source?: { repository: string; revision: string };
  /** Files present in the folder (names only). */
  files: Set<string>;
}

/**
 * Resolves a model location to a folder with a config.json: the folder
 * itself, or, for a Hugging Face cache entry (`models--org--name`), the
 * snapshot that `refs/main` points to. Also reports the repository and
 * revision of a cache snapshot (huggingface_hub's cache layout:
 * models--{org}--{name}/snapshots/{revision}/).
 */
export async function resolveCheckpointDir(
  input: string,
): Promise<{ dir: string; source?: { repository: string; revision: string } }> {
  let dir = path.resolve(input);
  const stat = await fs.stat(dir).catch((cause: NodeJS.ErrnoException) => {
    throw new ConverterError(
      'INVALID_INPUT',
      `Cannot read ${input}: ${cause.code === 'ENOENT' ? 'no such file or directory' : cause.message}.`,
      {
        cause,
        details: { path: dir },
        hint: 'Pass the folder of a Hugging Face model (with config.json and *.safetensors).',
      },
    );
  });
  if (!stat.isDirectory()) {
    throw new ConverterError('INVALID_INPUT', `${input} is not a folder.`, {
      details: { path: dir },
      hint: 'Pass the folder of a Hugging Face model (with config.json and *.safetensors), not a single file.',
    });
  }
  if (path.basename(dir).startsWith('models--')) {
    const ref = await readWholeFile(path.join(dir, 'refs', 'main')).then(
      (b) => b.toString('utf8'),
      () => undefined,
    );
    const snapshots = await fs.readdir(path.join(dir, 'snapshots')).catch(() => [] as string[]);
    const revision = ref?.trim() || (snapshots.length === 1 ? snapshots[0] : undefined);
    if (!revision || !snapshots.includes(revision)) {
      throw new ConverterError(
        'INVALID_INPUT',
        `${input} is a Hugging Face cache entry, but it has no snapshot for refs/main.`,
        {
          details: { path: dir, snapshots },
          hint: 'Pass the snapshot folder itself (…/snapshots/<revision>), or download the model again.',
        },
      );
    }
    dir = path.join(dir, 'snapshots', revision);
  }
  const parts = dir.split(path.sep);
  const snapshotAt = parts.lastIndexOf('snapshots');
  if (snapshotAt > 0 && snapshotAt === parts.length - 2 && parts[snapshotAt - 1].startsWith('models--')) {
    const repository = parts[snapshotAt - 1].slice('models--'.length).split('--').join('/');
    return { dir, source: { repository, revision: parts[snapshotAt + 1] } };
  }
  return { dir };
}

async function readJsonFile(file: string, what: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = (await readWholeFile(file)).toString('utf8');
  } catch (cause) {
    throw new ConverterError('INVALID_INPUT', `Cannot read ${what} (${file}): ${(cause as Error).message}`, {
      cause,
      details: { file },
    });
  }
  try {
    const value: unknown = JSON.parse(text);
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('not a JSON object');
    return value as Record<string, unknown>;
  } catch (cause) {
    throw new ConverterError(
      'INVALID_INPUT',
      `${what} (${file}) is not valid JSON: ${(cause as Error).message}`,
      { cause, details: { file } },
    );
  }
}

/** Reads a JSON file of the checkpoint if it exists. */
export async function readOptionalJson(
  dir: string,
  name: string,
): Promise<Record<string, unknown> | undefined> {
  const file = path.join(dir, name);
  if (
    !(await fs.access(file).then(
      () => true,
      () => false,
    ))
  )
    return undefined;
  return readJsonFile(file, name);
}

/**
 * Opens a checkpoint: reads config.json, refuses pickle-only weights, and
 * indexes every tensor of `model.safetensors` or of the shards named by
 * `model.safetensors.index.json` (headers only; no tensor data is read).
 */
export async function openCheckpoint(input: string): Promise<Checkpoint> {
  const { dir, source } = await resolveCheckpointDir(input);
  const files = new Set(await fs.readdir(dir));
  if (!files.has('config.json')) {
    throw new ConverterError(
      'INVALID_INPUT',
      `${input} has no config.json, so it is not a Hugging Face model folder.`,
      {
        details: { path: dir },
        hint: 'Pass the folder that holds config.json, the *.safetensors weights and the tokenizer files.',
      },
    );
  }
  const config = await readJsonFile(path.join(dir, 'config.json'), 'config.json');
  const weightFiles = await safetensorsFiles(dir, files);
  const tensors = new Map<string, SourceTensor>();
  for (const file of weightFiles) {
    const header = await readSafetensorsHeader(path.join(dir, file));
    for (const tensor of header.tensors) {
      if (tensors.has(tensor.name)) {
        throw new ConverterError(
          'BAD_SAFETENSORS',
          `Tensor ${tensor.name} appears in two weight files (${tensors.get(tensor.name)!.file} and ${file}).`,
          {
            details: { tensor: tensor.name },
          },
        );
      }
      tensors.set(tensor.name, { ...tensor, file: path.join(dir, file) });
    }
  }
  return { dir, config, tensors, source, files };
}

async function safetensorsFiles(dir: string, files: Set<string>): Promise<string[]> {
  if (files.has('model.safetensors.index.json')) {
    const index = await readJsonFile(
      path.join(dir, 'model.safetensors.index.json'),
      'model.safetensors.index.json',
    );
    const map = index.weight_map as Record<string, unknown> | undefined;
    if (!map || typeof map !== 'object') {
      throw new ConverterError('BAD_SAFETENSORS', 'model.safetensors.index.json has no weight_map.', {
        details: { dir },
      });
    }
    const shards = [...new Set(Object.values(map))];
    for (const shard of shards) {
      // A hostile index could point outside the folder; shard names are plain file names.
      if (typeof shard !== 'string' || shard !== path.basename(shard) || !files.has(shard)) {
        throw new ConverterError(
          'BAD_SAFETENSORS',
          `model.safetensors.index.json names a shard ${JSON.stringify(shard)} that is not a file in the folder.`,
          {
            details: { dir, shard },
            hint: 'A shard is missing: download the model again.',
          },
        );
      }
    }
    return shards.sort() as string[];
  }
  const single = [...files].filter((f) => f.endsWith('.safetensors')).sort();
  if (single.length) return single;
  const pickles = [...files].filter(
    (f) => /^pytorch_model.*\.bin$/.test(f) || f.endsWith('.pt') || f.endsWith('.pth') || f.endsWith('.ckpt'),
  );
  if (pickles.length) {
    throw new ConverterError(
      'PICKLE_ONLY',
      `${dir} has only PyTorch pickle weights (${pickles.slice(0, 3).join(', ')}${pickles.length > 3 ? ', …' : ''}). Alki does not read pickle files: loading one can run arbitrary code hidden in the file.`,
      {
        details: { dir, files: pickles },
        hint: 'Use the safetensors revision of the model if the hub has one (many repos have a refs/pr/N "convert to safetensors" branch), or convert it yourself in a sandbox with `transformers`: AutoModelForCausalLM.from_pretrained(dir).save_pretrained(out, safe_serialization=True).',
      },
    );
  }
  throw new ConverterError('INVALID_INPUT', `${dir} has no *.safetensors weights.`, {
    details: { dir },
    hint: 'Download the model with its *.safetensors files (and model.safetensors.index.json when sharded).',
  });
}
