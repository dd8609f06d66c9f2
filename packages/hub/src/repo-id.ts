import { HubError } from './errors.js';

// huggingface_hub's validate_repo_id (utils/_validators.py): word characters,
// '-' and '.', one optional namespace, no '--' or '..', at most 96 characters.
const REPO_ID = /^(?:[\w.-]+\/)?[\w.-]+$/;
const MAX_REPO_ID_LENGTH = 96;

/**
 * Checks an `org/name` model id and returns it trimmed, or throws `INVALID_REPO_ID`.
 *
 * @example
 * parseRepoId('Qwen/Qwen2.5-0.5B-Instruct-GGUF'); // 'Qwen/Qwen2.5-0.5B-Instruct-GGUF'
 */
export function parseRepoId(input: string): string {
  const id = input.trim();
  const problem = !id
    ? 'it is empty'
    : id.length > MAX_REPO_ID_LENGTH
      ? `it is longer than ${MAX_REPO_ID_LENGTH} characters`
      : !REPO_ID.test(id)
        ? 'use the form org/name with letters, digits, "-", "_" and "."'
        : id.includes('--') || id.includes('..')
          ? 'it may not contain "--" or ".."'
          : /^[.-]|[.-]$|\/[.-]|[.-]\//.test(id)
            ? 'a part may not start or end with "-" or "."'
            : undefined;
  if (problem) {
    throw new HubError('INVALID_REPO_ID', `"${input}" is not a valid Hugging Face model id: ${problem}.`, {
      hint: 'Pass the id as it appears in the model page URL, for example Qwen/Qwen2.5-0.5B-Instruct-GGUF.',
      details: { repo: input },
    });
  }
  return id;
}

/**
 * Checks that a repo file name or revision is a plain relative POSIX path, so
 * that joining it onto the cache can never leave it (huggingface_hub
 * `_validate_relative_filename`, added for CVE-style traversal in #4540).
 */
export function assertSafeRelativePath(value: string, what: string): void {
  const parts = value.split(/[/\\]/);
  const unsafe =
    value === '' ||
    value.startsWith('/') ||
    value.startsWith('\\') ||
    /^[a-zA-Z]:/.test(value) ||
    value.includes('\0') ||
    parts.some((part) => part === '..' || part === '.' || part === '' || /^[a-zA-Z]:/.test(part));
  if (unsafe) {
    throw new HubError('UNSAFE_PATH', `Refusing the ${what} "${value}": it is not a plain relative path.`, {
      hint: 'A repo file name or revision may not be absolute, empty, or contain "." or ".." parts.',
      details: { [what]: value },
    });
  }
}
