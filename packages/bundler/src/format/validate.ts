import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { BundlerError } from '../errors.js';
import { manifestSchemaV1, runtimeSchemaV1 } from './schema.js';
import type { BundleManifest, RuntimeManifest } from './types.js';

// One strict Ajv instance for both schemas: strict mode rejects schema typos
// at start-up instead of silently ignoring a keyword.
const ajv = new Ajv({ strict: true, allErrors: true });
const manifestValidator = ajv.compile(manifestSchemaV1) as ValidateFunction<BundleManifest>;
const runtimeValidator = ajv.compile(runtimeSchemaV1) as ValidateFunction<RuntimeManifest>;

/** How many schema errors a message lists before "and N more". */
const MAX_LISTED_ERRORS = 5;

/**
 * True when `relative` names something inside a directory: relative, forward
 * slashes, and no `.`/`..` segment that could climb out of it.
 */
export function isContainedPath(relative: string): boolean {
  if (relative.length === 0 || relative.includes('\\') || relative.includes('\0')) return false;
  if (relative.startsWith('/') || /^[A-Za-z]:/.test(relative)) return false;
  const segments = relative.replace(/^\.\//, '').split('/');
  return segments.every((segment) => segment !== '' && segment !== '.' && segment !== '..');
}

/** An artifact uri (`./models/x.gguf`) as a path relative to the bundle root (`models/x.gguf`). */
export function artifactPath(uri: string): string {
  return uri.replace(/^\.\//, '');
}

function describeErrors(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((error) => {
    const where = error.instancePath || '(top level)';
    const extra =
      error.keyword === 'additionalProperties' ? ` (${String(error.params.additionalProperty)})` : '';
    return `${where} ${error.message ?? 'is invalid'}${extra}`;
  });
}

function schemaFailure(file: string, problems: string[]): BundlerError {
  const listed = problems.slice(0, MAX_LISTED_ERRORS).join('; ');
  const more = problems.length > MAX_LISTED_ERRORS ? `; and ${problems.length - MAX_LISTED_ERRORS} more` : '';
  return new BundlerError(
    'INVALID_MANIFEST',
    `${file} is not a valid version 1 document: ${listed}${more}.`,
    {
      hint: 'Repack the bundle with `alki pack`, or compare the file with docs/bundle.md.',
      details: { file, problems },
    },
  );
}

function rejectEscapes(file: string, paths: unknown[]): void {
  for (const candidate of paths) {
    if (typeof candidate === 'string' && !isContainedPath(candidate)) {
      throw new BundlerError(
        'PATH_ESCAPE',
        `${file} names a path outside the bundle: ${JSON.stringify(candidate)}.`,
        {
          hint: 'A bundle may only refer to its own files; this one may have been tampered with.',
          details: { file, path: candidate },
        },
      );
    }
  }
}

/**
 * Checks a parsed metadata/manifest.json against the version 1 schema and
 * returns it typed. Paths that could leave the bundle fail with PATH_ESCAPE
 * before anything else is looked at.
 *
 * @example
 * const manifest = parseManifest(JSON.parse(await readFile('metadata/manifest.json', 'utf8')));
 * console.log(manifest.artifacts.map((a) => a.quant));
 */
export function parseManifest(value: unknown, file = 'metadata/manifest.json'): BundleManifest {
  if (typeof value === 'object' && value !== null) {
    const record = value as { artifacts?: unknown; files?: unknown };
    const artifacts = Array.isArray(record.artifacts) ? record.artifacts : [];
    const files = Array.isArray(record.files) ? record.files : [];
    rejectEscapes(file, [
      ...artifacts.map((artifact) => (artifact as { uri?: unknown } | null)?.uri),
      ...files.map((entry) => (entry as { path?: unknown } | null)?.path),
    ]);
  }
  if (!manifestValidator(value)) throw schemaFailure(file, describeErrors(manifestValidator.errors));
  const seen = new Set<string>();
  for (const path of [
    ...value.artifacts.map((a) => artifactPath(a.uri)),
    ...value.files.map((f) => f.path),
  ]) {
    if (seen.has(path)) throw schemaFailure(file, [`${path} is listed twice`]);
    seen.add(path);
  }
  return value;
}

/**
 * Checks a parsed metadata/runtime.json against the version 1 schema.
 *
 * @example
 * const runtime = parseRuntime(JSON.parse(text));
 * spawn('llama-server', ['--port', String(runtime.server.port)]);
 */
export function parseRuntime(value: unknown, file = 'metadata/runtime.json'): RuntimeManifest {
  if (typeof value === 'object' && value !== null)
    rejectEscapes(file, [(value as { model?: unknown }).model]);
  if (!runtimeValidator(value)) throw schemaFailure(file, describeErrors(runtimeValidator.errors));
  return value;
}
