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
  const kind: RepoKind = gguf.length ? 'gguf' : safetensors.length ? 'safetensors' : pickle.length ? 'pickle' : 'unknown';
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

/**
 * The one file of `paths` that `glob` matches. No match is an error that
 * lists the repo's .gguf files; several matches an error that lists them.
 *
 * @example
 * selectFile(['a-Q4_K_M.gguf', 'a-Q8_0.gguf'], '*Q8_0.gguf', 'acme/a-GGUF'); // 'a-Q8_0.gguf'
 */
export function selectFile(paths: readonly string[], glob: string, repo: string): string {
  const pattern = globToRegExp(glob);
  const matches = paths.filter((p) => pattern.test(p)).sort();
  if (matches.length === 1) return matches[0];
  if (matches.length > 1) {
    throw new HubError('AMBIGUOUS_MATCH', `"${glob}" matches ${matches.length} files in ${repo}: ${matches.join(', ')}.`, {
      hint: 'Pass a --filename that matches exactly one of them.',
      details: { repo, glob, candidates: matches },
    });
  }
  const gguf = classifyRepo(paths).gguf.sort();
  throw new HubError(
    'NO_MATCH',
    `No file in ${repo} matches "${glob}". ${gguf.length ? `Its .gguf files are: ${gguf.join(', ')}.` : 'It has no .gguf files.'}`,
    {
      hint: gguf.length ? 'Pass a --filename glob that matches one of those.' : 'Pick a GGUF repo, or leave out --filename to convert the safetensors weights.',
      details: { repo, glob, candidates: gguf },
    },
  );
}
