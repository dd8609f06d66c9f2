import fs from 'node:fs/promises';
import path from 'node:path';
import { specialFileKind } from '@alki/gguf-reader';
import { HubError } from './errors.js';

/**
 * What a model argument names, decided once for every command (pack, validate, inspect, serve):
 * an existing regular file, an existing directory (a bundle or a checkpoint folder: the caller says
 * which), an http(s) URL, or a repo on the hub.
 */
export type ModelTarget =
  | { kind: 'file'; path: string }
  | { kind: 'directory'; path: string }
  | { kind: 'url'; url: string }
  | { kind: 'hub'; repo: string };

export type ModelTargetKind = ModelTarget['kind'];

export interface ResolveTargetOptions {
  /** The kinds the command takes; any other is refused with a sentence naming what it takes. */
  accept?: readonly ModelTargetKind[];
  /** Injected `stat`/`lstat` (node:fs/promises by default). */
  fs?: Pick<typeof fs, 'stat' | 'lstat'>;
}

const KIND_NAMES: Record<ModelTargetKind, string> = {
  file: 'a .gguf file',
  directory: 'a directory',
  url: 'an http(s) URL',
  hub: 'a hub repo (org/name)',
};

// `org/name` exactly, as huggingface_hub's validate_repo_id spells a namespaced id
// (utils/_validators.py). A bare `name` is refused: it is a typo of a local path far
// more often than a hub model without a namespace.
const NAMESPACED_REPO_ID = /^[\w.-]+\/[\w.-]+$/;

/**
 * Decides what a model argument names. A path that exists is a local file or
 * directory (a symbolic link is followed: the user named it); anything else on disk
 * (a FIFO, socket or device) is refused before anything opens it, since a read
 * could block forever. A URL is `url`; `org/name` that is not on disk is `hub`; a
 * missing path that cannot be a repo id (it ends in .gguf, starts with `.` or `/`,
 * or has more than one `/`) is a local file that does not exist.
 *
 * @example
 * await resolveModelTarget('./dist/alki-demo'); // { kind: 'directory', path: './dist/alki-demo' }
 * await resolveModelTarget('Qwen/Qwen3-0.6B-GGUF'); // { kind: 'hub', repo: 'Qwen/Qwen3-0.6B-GGUF' }
 */
export async function resolveModelTarget(
  target: string,
  options: ResolveTargetOptions = {},
): Promise<ModelTarget> {
  const resolved = await classify(target, options.fs ?? fs);
  const accept = options.accept;
  if (accept && !accept.includes(resolved.kind)) {
    throw new HubError(
      'UNSUPPORTED_TARGET',
      `${target} is ${KIND_NAMES[resolved.kind]}; this command takes ${listOf(accept.map((k) => KIND_NAMES[k]))}.`,
      { details: { target, kind: resolved.kind, accepted: [...accept] } },
    );
  }
  return resolved;
}

async function classify(target: string, io: Pick<typeof fs, 'stat' | 'lstat'>): Promise<ModelTarget> {
  if (/^https?:\/\//i.test(target)) return { kind: 'url', url: target };
  let info;
  try {
    info = await io.stat(target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') {
      throw new HubError('TARGET_NOT_FOUND', `${target} is a symbolic link that loops back on itself.`, {
        hint: 'Point at the model file itself.',
        details: { target },
        cause: error,
      });
    }
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
  }
  if (info?.isFile()) return { kind: 'file', path: target };
  if (info?.isDirectory()) return { kind: 'directory', path: target };
  if (info) {
    throw new HubError(
      'NOT_A_REGULAR_FILE',
      `${target} is ${specialFileKind(info)}, not a regular file; Alki reads models only from regular files.`,
      { hint: 'Point at the .gguf file or the bundle directory itself.', details: { target } },
    );
  }
  const link = await io.lstat(target).catch(() => undefined);
  if (link?.isSymbolicLink()) {
    throw new HubError('TARGET_NOT_FOUND', `${target} is a symbolic link to a file that does not exist.`, {
      details: { target },
    });
  }
  if (!looksLikePath(target) && NAMESPACED_REPO_ID.test(target)) return { kind: 'hub', repo: target };
  throw new HubError(
    'TARGET_NOT_FOUND',
    looksLikePath(target)
      ? `${target} does not exist.`
      : `${target} is neither an existing file or directory nor a hub repo id (org/name).`,
    {
      hint: 'Give the path of a .gguf file or a directory, or a hub repo such as Qwen/Qwen3-0.6B-GGUF.',
      details: { target },
    },
  );
}

// What no hub repo id looks like: a .gguf name, a relative or absolute path, a Windows path.
function looksLikePath(target: string): boolean {
  return (
    /\.gguf$/i.test(target) ||
    target.startsWith('.') ||
    path.isAbsolute(target) ||
    target.includes('\\') ||
    target.split('/').length > 2
  );
}

function listOf(items: string[]): string {
  return items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}
