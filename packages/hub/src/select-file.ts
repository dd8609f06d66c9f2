import { splitShardLocations } from '@alki/gguf-reader';
import { HubError } from './errors.js';

/** What a repo holds, which decides how it is packed. */
export type RepoKind = 'gguf' | 'safetensors' | 'pickle' | 'unknown';

/** A repo's weight files by format, and the kind that follows. */
export interface RepoClassification {
  /** `gguf` when any .gguf file exists, else `safetensors`, else `pickle` (PyTorch .bin/.pt only), else `unknown`. */
  kind: RepoKind;
  gguf: string[];
  safetensors: string[];
  pickle: string[];
}

const PICKLE = /(^|\/)(pytorch_model[^/]*\.bin|[^/]+\.(pt|pth|ckpt|pkl))$/i;

/**
 * Sorts a repo's files by weight format.
 *
 * @example
 * classifyRepo(['config.json', 'model.safetensors']).kind; // 'safetensors'
 */
export function classifyRepo(paths: readonly string[]): RepoClassification {
  const gguf = paths.filter((p) => /\.gguf$/i.test(p));
  const safetensors = paths.filter((p) => /\.safetensors$/i.test(p));
  const pickle = paths.filter((p) => PICKLE.test(p));
  const kind: RepoKind = gguf.length
    ? 'gguf'
    : safetensors.length
      ? 'safetensors'
      : pickle.length
        ? 'pickle'
        : 'unknown';
  return { kind, gguf, safetensors, pickle };
}

/**
 * Compiles a shell glob the way huggingface_hub's `allow_patterns` reads it
 * (Python's fnmatch: `*` matches any run of characters, `/` included, `?` one
 * character, `[abc]` / `[!abc]` a set). Case-sensitive.
 */
export function globToRegExp(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') out += '.*';
    else if (c === '?') out += '.';
    else if (c === '[') {
      const close = glob.indexOf(']', i + 2);
      if (close < 0) {
        out += '\\[';
        continue;
      }
      let set = glob.slice(i + 1, close);
      const negate = set.startsWith('!');
      if (negate) set = set.slice(1);
      out += `[${negate ? '^' : ''}${set.replace(/[\\\]^]/g, '\\$&')}]`;
      i = close;
    } else out += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${out}$`, 's');
}

function ambiguous(glob: string, repo: string, candidates: string[], what: string): HubError {
  return new HubError(
    'AMBIGUOUS_MATCH',
    `"${glob}" matches ${candidates.length} ${what} in ${repo}: ${candidates.join(', ')}.`,
    {
      hint: 'Pass a --filename that matches exactly one of them.',
      details: { repo, glob, candidates },
    },
  );
}

function noMatch(glob: string, repo: string, ggufModels: string[]): HubError {
  return new HubError(
    'NO_MATCH',
    `No file in ${repo} matches "${glob}". ${ggufModels.length ? `Its .gguf files are: ${ggufModels.join(', ')}.` : 'It has no .gguf files.'}`,
    {
      hint: ggufModels.length
        ? 'Pass a --filename glob that matches one of those.'
        : 'Pick a GGUF repo, or leave out --filename to convert the safetensors weights.',
      details: { repo, glob, candidates: ggufModels },
    },
  );
}

/**
 * The one file of `paths` that `glob` matches. No match is an error that
 * lists the repo's .gguf files; several matches an error that lists them.
 * For GGUF models, {@link selectGguf} also handles split models.
 *
 * @example
 * selectFile(['a-Q4_K_M.gguf', 'a-Q8_0.gguf'], '*Q8_0.gguf', 'acme/a-GGUF'); // 'a-Q8_0.gguf'
 */
export function selectFile(paths: readonly string[], glob: string, repo: string): string {
  const pattern = globToRegExp(glob);
  const matches = paths.filter((p) => pattern.test(p)).sort();
  if (matches.length === 1) return matches[0];
  if (matches.length > 1) throw ambiguous(glob, repo, matches, 'files');
  throw noMatch(glob, repo, classifyRepo(paths).gguf.sort());
}

/** A GGUF model picked from a repo: its first file and, for a split model, every shard in order. */
export interface GgufSelection {
  /** The file to load: the model, or the first shard of a split model. */
  file: string;
  /** Every file of the model, in order (just `file` when it is not split). */
  shards: string[];
}

/**
 * The one GGUF model of a repo that `glob` (default `*.gguf`) matches. The
 * shards of a split model (`name-00001-of-00003.gguf`, llama.cpp's
 * llama_split_path naming) count as one model, named by its first shard,
 * and must all be in the repo.
 *
 * @example
 * selectGguf(['m-Q8_0-00001-of-00002.gguf', 'm-Q8_0-00002-of-00002.gguf', 'm-Q4_0.gguf'], '*Q8_0*', 'acme/m-GGUF');
 * // { file: 'm-Q8_0-00001-of-00002.gguf', shards: ['m-Q8_0-00001-of-00002.gguf', 'm-Q8_0-00002-of-00002.gguf'] }
 */
export function selectGguf(paths: readonly string[], glob: string | undefined, repo: string): GgufSelection {
  const pattern = globToRegExp(glob ?? '*.gguf');
  // A vision projector is loaded beside a model, never as one.
  const gguf = classifyRepo(paths)
    .gguf.filter((p) => !isProjectorFile(p))
    .sort();
  const modelOf = (p: string) => splitShardLocations(p)?.[0] ?? p;
  const models = [...new Set(gguf.map(modelOf))];
  const matches = [...new Set(gguf.filter((p) => pattern.test(p)).map(modelOf))];
  if (matches.length > 1) throw ambiguous(glob ?? '*.gguf', repo, matches, 'GGUF models');
  if (matches.length === 0) throw noMatch(glob ?? '*.gguf', repo, models);
  const file = matches[0];
  const shards = splitShardLocations(file) ?? [file];
  const missing = shards.filter((shard) => !paths.includes(shard));
  if (missing.length) {
    throw new HubError(
      'MISSING_SHARDS',
      `${repo} has only part of the split model ${file}: ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing.`,
      {
        hint: 'Pick another model, or another revision where every shard was uploaded.',
        details: { repo, file, missing },
      },
    );
  }
  return { file, shards };
}

/**
 * True for a GGUF that is a vision projector (mmproj), not a language
 * model: llama.cpp's test, "mmproj" in the file name (common/download.cpp,
 * gguf_filename_is_model).
 *
 * @example
 * isProjectorFile('mmproj-model-f16.gguf'); // true
 */
export function isProjectorFile(filePath: string): boolean {
  return /\.gguf$/i.test(filePath) && filePath.slice(filePath.lastIndexOf('/') + 1).includes('mmproj');
}

// The bits of a file's quant tag, the last `-` or `.` part of its name before
// .gguf and any split suffix: Q4_K_M gives 4, F16 16, BF16 16, none 0
// (common/download.cpp, get_gguf_split_info and extract_quant_bits).
function quantBits(filePath: string): number {
  const prefix = filePath.replace(/\.gguf$/i, '').replace(/-\d{5}-of-\d{5}$/i, '');
  const tag = /[-.]([A-Z0-9_]+)$/i.exec(prefix)?.[1] ?? '';
  const digits = /\d+/.exec(tag);
  return digits ? Number(digits[0]) : 0;
}

/**
 * The vision projector to serve beside `modelFile`. With a glob, the one
 * projector it matches. Without, llama.cpp's own choice for `-hf`
 * (common/download.cpp, find_best_sibling with "mmproj"): a projector in the
 * model's folder or one above it, the nearest folder first, then the one
 * whose quant is closest in bits to the model's. Undefined when the repo has
 * none.
 *
 * @example
 * selectProjector(['g-Q4_K_M.gguf', 'mmproj-F16.gguf', 'mmproj-Q8_0.gguf'], 'g-Q4_K_M.gguf', undefined, 'acme/g-GGUF');
 * // 'mmproj-Q8_0.gguf' (8 bits is closer to 4 than 16 is)
 */
export function selectProjector(
  paths: readonly string[],
  modelFile: string,
  glob: string | undefined,
  repo: string,
): string | undefined {
  const projectors = paths.filter(isProjectorFile).sort();
  if (glob !== undefined) {
    const pattern = globToRegExp(glob);
    const matches = projectors.filter((p) => pattern.test(p));
    if (matches.length === 1) return matches[0];
    if (matches.length > 1) throw ambiguous(glob, repo, matches, 'vision projectors');
    throw new HubError(
      'NO_MATCH',
      `No vision projector in ${repo} matches "${glob}". ${projectors.length ? `Its projectors are: ${projectors.join(', ')}.` : 'It has none (no .gguf file with "mmproj" in its name).'}`,
      {
        hint: projectors.length
          ? 'Pass an --mmproj glob that matches one of those.'
          : 'Leave out --mmproj to pack the model alone.',
        details: { repo, glob, candidates: projectors },
      },
    );
  }
  const modelFolders = modelFile.split('/').slice(0, -1);
  const modelBits = quantBits(modelFile);
  let best: { file: string; depth: number; diff: number } | undefined;
  for (const file of projectors) {
    const folders = file.split('/').slice(0, -1);
    if (folders.length > modelFolders.length || folders.some((f, i) => f !== modelFolders[i])) continue;
    const diff = Math.abs(quantBits(file) - modelBits);
    if (!best || folders.length > best.depth || (folders.length === best.depth && diff < best.diff))
      best = { file, depth: folders.length, diff };
  }
  return best?.file;
}
