// JSON Schemas (draft-07) of bundle formats 1 and 2. These objects are the source
// of truth; schema/manifest.v<N>.json and schema/runtime.v<N>.json in the package
// are the same documents for non-TypeScript consumers, and a test keeps them
// identical. A breaking change means a new schema_version and new files.

/** A path segment: no leading dot, so `.` and `..` and hidden files cannot appear. */
const SEGMENT = '[A-Za-z0-9_][A-Za-z0-9._-]*';

/** Slots beyond this are a typo, not a plan: each holds a whole context of KV cache. */
export const MAX_PARALLEL = 256;

const sha256 = { type: 'string', pattern: '^[0-9a-f]{64}$' } as const;
const size = { type: 'integer', minimum: 0 } as const;

const runtimeArgs = {
  type: 'object',
  additionalProperties: false,
  required: ['ctx', 'threads', 'ngl'],
  properties: {
    ctx: { type: 'integer', minimum: 1 },
    threads: { oneOf: [{ type: 'integer', minimum: 1 }, { const: 'auto' }] },
    ngl: { oneOf: [{ type: 'integer', minimum: 0 }, { const: 'auto' }] },
    parallel: { type: 'integer', minimum: 1, maximum: MAX_PARALLEL },
  },
} as const;

/** The artifact uri form: `./models/<file>.gguf`, one level, no escapes. */
export const ARTIFACT_URI_PATTERN = `^\\./models/${SEGMENT}\\.gguf$`;
/** The file entry form: a relative path of safe segments. */
/**
 * An OCI reference with a registry host, as `alki agent` follows it: a tag or
 * a sha256 digest (distribution-spec's grammar for names, tags and digests).
 */
export const CHANNEL_PATTERN =
  '^[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[a-z0-9]+(([._]|__|-+)[a-z0-9]+)*)+(:[A-Za-z0-9_][A-Za-z0-9._-]{0,127}|@sha256:[0-9a-f]{64})$';
export const FILE_PATH_PATTERN = `^${SEGMENT}(/${SEGMENT})*$`;

/** JSON Schema of metadata/manifest.json, format version 1. */
export const manifestSchemaV1 = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://alki.dev/schemas/bundle/manifest.v1.json',
  title: 'Alki bundle manifest, version 1',
  type: 'object',
  additionalProperties: false,
  required: [
    'schema_version',
    'name',
    'slug',
    'version',
    'artifacts',
    'defaults',
    'template',
    'license',
    'architecture',
    'parameter_count',
    'context_length',
    'source',
    'alki_version',
    'created',
    'files',
  ],
  properties: {
    schema_version: { const: 1 },
    name: { type: 'string', minLength: 1, maxLength: 256, pattern: '^[^\\u0000-\\u001f\\u007f]+$' },
    slug: { type: 'string', pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$' },
    version: { type: 'string', pattern: '^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$' },
    artifacts: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['quant', 'uri', 'sha256', 'size'],
        properties: {
          quant: { type: 'string', pattern: '^[A-Za-z0-9_]{1,32}$' },
          uri: { type: 'string', pattern: ARTIFACT_URI_PATTERN },
          sha256,
          size,
          file_type: { type: 'string', minLength: 1, maxLength: 64 },
        },
      },
    },
    defaults: runtimeArgs,
    template: { type: ['string', 'null'], maxLength: 64 },
    license: { type: ['string', 'null'], minLength: 1, maxLength: 256 },
    architecture: { type: 'string', minLength: 1, maxLength: 64 },
    parameter_count: { type: 'integer', minimum: 0 },
    context_length: { type: 'integer', minimum: 0 },
    source: {
      type: 'object',
      additionalProperties: false,
      required: ['kind', 'repo', 'revision', 'files'],
      properties: {
        kind: { enum: ['hub', 'local-gguf', 'local-hf', 'demo'] },
        repo: { type: 'string', minLength: 1, maxLength: 512 },
        revision: { type: ['string', 'null'], maxLength: 256 },
        files: { type: 'array', items: { type: 'string', maxLength: 1024 } },
      },
    },
    imatrix: {
      type: 'object',
      additionalProperties: false,
      required: ['file', 'sha256', 'size', 'format', 'chunks', 'datasets', 'quants'],
      properties: {
        file: { type: 'string', minLength: 1, maxLength: 1024 },
        sha256,
        size,
        format: { enum: ['gguf', 'legacy'] },
        chunks: { type: 'integer', minimum: 0 },
        datasets: { type: 'array', items: { type: 'string', maxLength: 1024 } },
        quants: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^[A-Za-z0-9_]{1,32}$' } },
      },
    },
    alki_version: { type: 'string', minLength: 1, maxLength: 64 },
    created: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?Z$' },
    files: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['path', 'sha256', 'size'],
        properties: { path: { type: 'string', pattern: FILE_PATH_PATTERN }, sha256, size },
      },
    },
  },
} as const;

/** JSON Schema of metadata/runtime.json, format version 1. */
export const runtimeSchemaV1 = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://alki.dev/schemas/bundle/runtime.v1.json',
  title: 'Alki bundle runtime manifest, version 1',
  type: 'object',
  additionalProperties: false,
  required: ['schema_version', 'runtime', 'model', 'server', 'args', 'health'],
  properties: {
    schema_version: { const: 1 },
    runtime: { const: 'llama.cpp' },
    model: { type: 'string', pattern: ARTIFACT_URI_PATTERN },
    server: {
      type: 'object',
      additionalProperties: false,
      required: ['host', 'port', 'api'],
      properties: {
        host: { type: 'string', minLength: 1, maxLength: 255 },
        port: { type: 'integer', minimum: 1, maximum: 65535 },
        api: { type: 'boolean' },
      },
    },
    args: runtimeArgs,
    health: {
      type: 'object',
      additionalProperties: false,
      required: ['path', 'timeout_s'],
      properties: {
        path: { type: 'string', pattern: '^/[A-Za-z0-9/_.-]*$' },
        timeout_s: { type: 'number', exclusiveMinimum: 0 },
      },
    },
    accelerator: {
      type: 'object',
      additionalProperties: false,
      required: ['backend', 'devices', 'vram_bytes', 'cpu_architecture', 'device', 'source'],
      properties: {
        backend: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,31}$' },
        devices: { type: 'array', maxItems: 64, items: { type: 'string', minLength: 1, maxLength: 256 } },
        vram_bytes: size,
        cpu_architecture: { enum: ['x86_64', 'aarch64', 'unknown'] },
        device: { type: 'string', minLength: 1, maxLength: 256 },
        source: { enum: ['probe', 'emulated'] },
      },
    },
    agent: {
      type: 'object',
      additionalProperties: false,
      required: ['channel'],
      properties: { channel: { type: 'string', pattern: CHANNEL_PATTERN } },
    },
  },
} as const;

// Version 2 is version 1 plus the vision projector: an artifact may have
// `role` (`model` or `mmproj`), and runtime.json may name the projector in
// `mmproj`. Everything a version 1 document may hold, a version 2 one may
// hold too, so readers of 2 read 1 as it is.
const artifactsV1 = manifestSchemaV1.properties.artifacts;

/** JSON Schema of metadata/manifest.json, format version 2. */
export const manifestSchemaV2 = {
  ...manifestSchemaV1,
  $id: 'https://alki.dev/schemas/bundle/manifest.v2.json',
  title: 'Alki bundle manifest, version 2',
  properties: {
    ...manifestSchemaV1.properties,
    schema_version: { const: 2 },
    artifacts: {
      ...artifactsV1,
      items: {
        ...artifactsV1.items,
        properties: { ...artifactsV1.items.properties, role: { enum: ['model', 'mmproj'] } },
      },
    },
  },
} as const;

/** JSON Schema of metadata/runtime.json, format version 2. */
export const runtimeSchemaV2 = {
  ...runtimeSchemaV1,
  $id: 'https://alki.dev/schemas/bundle/runtime.v2.json',
  title: 'Alki bundle runtime manifest, version 2',
  properties: {
    ...runtimeSchemaV1.properties,
    schema_version: { const: 2 },
    mmproj: { type: 'string', pattern: ARTIFACT_URI_PATTERN },
  },
} as const;
