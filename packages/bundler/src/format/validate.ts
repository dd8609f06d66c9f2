import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { BundlerError } from '../errors.js';
import { manifestSchemaV1, manifestSchemaV2, runtimeSchemaV1, runtimeSchemaV2 } from './schema.js';
import { isModelArtifact } from './artifacts.js';
import type { BundleManifest, RuntimeManifest } from './types.js';

// One strict Ajv instance for every schema of Alki's formats: strict mode
// rejects schema typos when the schema compiles instead of silently ignoring
// a keyword.
const ajv = new Ajv({ strict: true, allErrors: true });

/**
 * The validator of `schema`, compiled by Alki's one strict Ajv when it is
 * first asked for; Ajv keeps it, keyed by the schema object, so later calls
 * are a lookup. Compiling at module load would cost every command that loads
 * the module (the bundle formats' four schemas: about 0.15 s, --help included).
 *
 * @example
 * const validate = schemaValidator<FleetSpec>(fleetSchemaV1);
 * if (!validate(value)) console.log(validate.errors);
 */
export function schemaValidator<T>(schema: object): ValidateFunction<T> {
  return ajv.compile<T>(schema);
}

/** The format versions this code reads, each with its schemas. */
const SCHEMAS = {
  1: { manifest: manifestSchemaV1, runtime: runtimeSchemaV1 },
  2: { manifest: manifestSchemaV2, runtime: runtimeSchemaV2 },
} as const;
type FormatVersion = keyof typeof SCHEMAS;
const KNOWN_VERSIONS = Object.keys(SCHEMAS).map(Number);

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

/**
 * The problems a failed schema validation found, one line each: where
 * (a JSON pointer, or "(top level)"), what is wrong, and the unknown
 * property's name when there is one.
 *
 * @example
 * if (!validate(value)) throw new Error(`not valid: ${listProblems(schemaProblems(validate.errors))}`);
 */
export function schemaProblems(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((error) => {
    const where = error.instancePath || '(top level)';
    const extra =
      error.keyword === 'additionalProperties' ? ` (${String(error.params.additionalProperty)})` : '';
    return `${where} ${error.message ?? 'is invalid'}${extra}`;
  });
}

/** The first few problems joined with "; ", and how many more there are. */
export function listProblems(problems: readonly string[]): string {
  const listed = problems.slice(0, MAX_LISTED_ERRORS).join('; ');
  return problems.length > MAX_LISTED_ERRORS
    ? `${listed}; and ${problems.length - MAX_LISTED_ERRORS} more`
    : listed;
}

function schemaFailure(file: string, problems: string[], version: FormatVersion = 1): BundlerError {
  return new BundlerError(
    'INVALID_MANIFEST',
    `${file} is not a valid version ${version} document: ${listProblems(problems)}.`,
    {
      hint: 'Repack the bundle with `alki pack`, or compare the file with docs/bundle.md.',
      details: { file, problems },
    },
  );
}

// The version a document says it is. A version this code does not know is
// refused with its own message: the bundle was written by a newer Alki, and
// reading it as an older format would drop what it added. A missing or
// malformed version is left to the version 1 schema to report.
function formatVersion(file: string, value: unknown): FormatVersion {
  const version = (value as { schema_version?: unknown } | null)?.schema_version;
  if (version === 2) return 2;
  if (typeof version === 'number' && !KNOWN_VERSIONS.includes(version)) {
    throw new BundlerError(
      'INVALID_MANIFEST',
      `${file} is bundle format ${version}; this Alki reads formats ${KNOWN_VERSIONS.join(' and ')}.`,
      {
        hint: 'Update Alki to read it, or repack the bundle with this one.',
        details: { file, schemaVersion: version },
      },
    );
  }
  return 1;
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
 * Checks a parsed metadata/manifest.json against the schema of the format
 * version it names (1 or 2) and returns it typed. Paths that could leave the bundle fail with PATH_ESCAPE
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
  const version = formatVersion(file, value);
  const validator = schemaValidator<BundleManifest>(SCHEMAS[version].manifest);
  if (!validator(value)) throw schemaFailure(file, schemaProblems(validator.errors), version);
  // The first artifact is the default model and names the version; a
  // projector is never served alone, and llama-server takes one.
  if (!isModelArtifact(value.artifacts[0]))
    throw schemaFailure(file, ['/artifacts/0 must be a model, not the vision projector'], version);
  if (value.artifacts.filter((a) => !isModelArtifact(a)).length > 1)
    throw schemaFailure(file, ['/artifacts holds more than one vision projector (role mmproj)'], version);
  const seen = new Set<string>();
  for (const path of [
    ...value.artifacts.map((a) => artifactPath(a.uri)),
    ...value.files.map((f) => f.path),
  ]) {
    if (seen.has(path)) throw schemaFailure(file, [`${path} is listed twice`], version);
    seen.add(path);
  }
  return value;
}

/**
 * Checks a parsed metadata/runtime.json against the schema of the format
 * version it names (1 or 2).
 *
 * @example
 * const runtime = parseRuntime(JSON.parse(text));
 * spawn('llama-server', ['--port', String(runtime.server.port)]);
 */
export function parseRuntime(value: unknown, file = 'metadata/runtime.json'): RuntimeManifest {
  if (typeof value === 'object' && value !== null)
    rejectEscapes(file, [(value as { model?: unknown }).model, (value as { mmproj?: unknown }).mmproj]);
  const version = formatVersion(file, value);
  const validator = schemaValidator<RuntimeManifest>(SCHEMAS[version].runtime);
  if (!validator(value)) throw schemaFailure(file, schemaProblems(validator.errors), version);
  return value;
}
