import { BundlerError } from '../errors.js';

// Escapers for each target format. Every value that reaches a deploy file
// goes through one of these; the templates never print a raw value (see
// render.ts, which refuses a template that tries).

/** A character class of C0 controls and DEL. */
const CONTROL = /[\u0000-\u001f\u007f]/g;
const HAS_CONTROL = /[\u0000-\u001f\u007f]/;
/** Words that need no quoting in any target: no quotes, spaces, `$`, `%`, backslashes or controls. */
const SAFE_WORD = /^[A-Za-z0-9_./:=@+,-]+$/;

function hex2(char: string): string {
  return char.charCodeAt(0).toString(16).padStart(2, '0');
}

/**
 * One systemd command-line argument, double-quoted (systemd.service(5),
 * "Command lines"): backslash, quote and controls get C escapes, which
 * systemd decodes inside quotes; `%` doubles so no specifier expands
 * (systemd.unit(5), "Specifiers"); `$` doubles so no variable expands.
 */
export function systemdArgument(value: string): string {
  if (SAFE_WORD.test(value)) return value;
  const escaped = value
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(CONTROL, (char) => ({ '\n': '\\n', '\r': '\\r', '\t': '\\t' })[char] ?? `\\x${hex2(char)}`)
    .replace(/%/g, '%%')
    .replace(/\$/g, '$$$$');
  return `"${escaped}"`;
}

/**
 * Free text for a unit setting such as Description=: it is one line, so
 * controls become spaces; `%` doubles (specifiers); a trailing backslash is
 * dropped, since it would join the next line to this one.
 */
export function systemdText(value: string): string {
  return value.replace(CONTROL, ' ').replace(/%/g, '%%').replace(/\\+$/, '');
}

/** An absolute path of safe characters; anything else is refused rather than escaped. */
export function safeAbsolutePath(value: string): string {
  if (!/^\/[A-Za-z0-9._/-]*$/.test(value) || value.split('/').some((segment) => segment === '..')) {
    throw new BundlerError(
      'INVALID_INPUT',
      `Refusing the path ${JSON.stringify(value)} in a deploy file: use letters, digits, ".", "_", "-" and "/".`,
      { category: 'input' },
    );
  }
  return value;
}

/**
 * A YAML scalar: JSON's double-quoted string is a valid YAML 1.2
 * double-quoted scalar (YAML 1.2 section 7.3.1), with every control escaped,
 * so no value can start a new key, a comment or a document.
 */
export function yamlString(value: string): string {
  return JSON.stringify(value);
}

/**
 * A string in a compose file: compose interpolates `${VAR}` and `$VAR` in
 * every value (Compose Specification, "Interpolation"), and `$$` stands for
 * one `$`; the result is a YAML double-quoted scalar.
 */
export function composeString(value: string): string {
  return yamlString(value.replace(/\$/g, '$$$$'));
}

/** A YAML flow sequence of compose strings. */
export function composeStringList(values: readonly string[]): string {
  return `[${values.map(composeString).join(', ')}]`;
}

/** A YAML flow sequence of strings, `["a", "b"]`. */
export function yamlStringList(values: readonly string[]): string {
  return `[${values.map(yamlString).join(', ')}]`;
}

/**
 * A Dockerfile exec-form array (`CMD ["a", "b"]`): JSON, which the
 * Dockerfile parser reads as JSON; exec form gets no variable expansion.
 */
export function dockerExecForm(values: readonly string[]): string {
  return JSON.stringify(values).replace(/","/g, '", "');
}

/**
 * A double-quoted Dockerfile word (LABEL values): backslash, quote and `$`
 * are escaped, so no variable expands; controls become spaces, since a
 * newline would end the instruction.
 */
export function dockerQuoted(value: string): string {
  return `"${value.replace(CONTROL, ' ').replace(/[\\"$]/g, (char) => `\\${char}`)}"`;
}

/**
 * A container image reference for FROM, which the Dockerfile parser
 * expands variables in: only the characters a reference can hold
 * (distribution's reference grammar) are accepted.
 */
export function imageReference(value: string): string {
  if (!/^[a-z0-9][a-z0-9._\-/:@]*$/i.test(value) || value.length > 512) {
    throw new BundlerError(
      'INVALID_INPUT',
      `Refusing the image reference ${JSON.stringify(value)}: expected registry/name:tag or name@sha256:digest.`,
      { category: 'input' },
    );
  }
  return value;
}

/**
 * One POSIX shell word: single-quoted, with `'` closed, escaped and reopened;
 * a value with control characters uses $'...' so it stays on one line.
 *
 * @example
 * shellArgument("dist/it's here"); // 'dist/it'\''s here'
 */
export function shellArgument(value: string): string {
  if (SAFE_WORD.test(value)) return value;
  if (HAS_CONTROL.test(value)) {
    const body = value
      .replace(/[\\']/g, (char) => `\\${char}`)
      .replace(CONTROL, (char) => `\\x${hex2(char)}`);
    return `$'${body}'`;
  }
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Inline Markdown text: the punctuation CommonMark treats as markup is backslash-escaped; controls become spaces. */
export function markdownText(value: string): string {
  return value.replace(CONTROL, ' ').replace(/[\\`*_{}[\]#!|<>~&]/g, (char) => `\\${char}`);
}

/**
 * An inline code span: backslashes mean nothing inside one, so the fence is
 * made longer than any run of backticks in the value (CommonMark 6.1).
 */
export function markdownCode(value: string): string {
  const text = value.replace(CONTROL, ' ');
  const longestRun = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longestRun + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

/** A non-negative integer for a template, or an error: numbers are never strings in disguise. */
export function integer(value: number): string {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new BundlerError(
      'INVALID_INPUT',
      `Expected a non-negative integer in a deploy file, got ${String(value)}.`,
      { category: 'input' },
    );
  return String(value);
}
