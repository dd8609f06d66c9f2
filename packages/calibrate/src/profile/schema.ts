// JSON Schema (draft-07) of calibration profiles, version 1. This object is
// the source of truth; schema/profile.v1.json in the package is the same
// document for other languages (a test keeps them identical). A fleet file
// refers to profiles by this shape, so a breaking change is a new version.

const positive = { type: 'number', exclusiveMinimum: 0 } as const;
const nonNegative = { type: 'number', minimum: 0 } as const;
const count = { type: 'integer', minimum: 1 } as const;
const estimate = {
  type: 'object',
  additionalProperties: false,
  required: ['value', 'uncertainty'],
  properties: { value: { type: 'number' }, uncertainty: nonNegative },
} as const;

/** The hardware part of a profile: what a device has, measured or from the catalogue. */
const hardware = {
  type: 'object',
  additionalProperties: false,
  required: ['cpuModel', 'architecture', 'cores', 'logicalCores', 'simd', 'memoryBytes', 'gpu'],
  properties: {
    cpuModel: { type: 'string' },
    architecture: { enum: ['x86_64', 'aarch64', 'unknown'] },
    /** Cores a server may use (after cgroup limits). */
    cores: count,
    logicalCores: count,
    simd: { type: 'array', items: { type: 'string' }, uniqueItems: true },
    /** Memory a server may use, in bytes (after cgroup limits). */
    memoryBytes: nonNegative,
    memoryBandwidthGBps: positive,
    gpu: {
      type: 'object',
      additionalProperties: false,
      required: ['backend', 'devices', 'vramTotalBytes'],
      properties: {
        backend: { type: ['string', 'null'] },
        devices: { type: 'array', items: { type: 'string' } },
        vramTotalBytes: nonNegative,
      },
    },
  },
} as const;

const speedSample = {
  type: 'object',
  additionalProperties: false,
  required: ['kind', 'threads', 'batch', 'tokensPerSecond', 'stddev'],
  properties: {
    kind: { enum: ['prompt', 'generation'] },
    threads: count,
    batch: count,
    tokensPerSecond: nonNegative,
    stddev: nonNegative,
  },
} as const;

const measurement = {
  type: 'object',
  additionalProperties: false,
  required: ['quant', 'sizeBytes', 'bitsPerWeight', 'reference', 'speed', 'memoryByContext'],
  properties: {
    quant: { type: 'string', minLength: 1 },
    sizeBytes: nonNegative,
    bitsPerWeight: nonNegative,
    reference: { type: 'boolean' },
    speed: {
      type: 'object',
      additionalProperties: false,
      required: ['engine', 'promptTokens', 'generatedTokens', 'depth', 'samples'],
      properties: {
        engine: { enum: ['llama-bench', 'node-llama-cpp'] },
        promptTokens: count,
        generatedTokens: count,
        depth: { type: 'integer', minimum: 0 },
        samples: { type: 'array', items: speedSample },
        loadMs: nonNegative,
        peakRssBytes: nonNegative,
      },
    },
    quality: {
      type: 'object',
      additionalProperties: false,
      required: ['engine', 'tokens', 'perplexity'],
      properties: {
        engine: { enum: ['llama-perplexity', 'node-llama-cpp'] },
        tokens: { type: 'integer', minimum: 0 },
        perplexity: estimate,
        kld: estimate,
        kld99: nonNegative,
        top1Agreement: estimate,
      },
    },
    memoryByContext: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['context', 'bytes'],
        properties: { context: count, bytes: nonNegative },
      },
    },
  },
} as const;

/** JSON Schema of a calibration profile (`alki calibrate --save-profile`), version 1. */
export const profileSchemaV1 = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://alki.dev/schemas/calibrate/profile.v1.json',
  title: 'Alki calibration profile, version 1',
  type: 'object',
  additionalProperties: false,
  required: [
    'schemaVersion',
    'kind',
    'created',
    'alkiVersion',
    'device',
    'model',
    'constraints',
    'measurements',
    'recommendation',
    'rejected',
  ],
  properties: {
    schemaVersion: { const: 1 },
    kind: { const: 'alki-calibration-profile' },
    created: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}' },
    alkiVersion: { type: 'string' },
    device: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'source', 'hardware'],
      properties: {
        /** The host name, or the catalogue id of an emulated device. */
        name: { type: 'string', minLength: 1 },
        /** `probe`: measured on the device itself; `emulated`: a catalogue device under limits here. */
        source: { enum: ['probe', 'emulated'] },
        /** The device class of the catalogue (`rpi5`), when emulated or matched. */
        deviceClass: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]*$' },
        hardware,
      },
    },
    model: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'architecture', 'parameterCount', 'contextLength'],
      properties: {
        name: { type: 'string' },
        architecture: { type: 'string' },
        parameterCount: { type: 'integer', minimum: 0 },
        contextLength: { type: 'integer', minimum: 0 },
      },
    },
    constraints: {
      type: 'object',
      additionalProperties: false,
      properties: {
        maxMemoryBytes: positive,
        minTokensPerSecond: positive,
        context: count,
        maxKld: nonNegative,
      },
    },
    measurements: { type: 'array', items: measurement },
    recommendation: {
      oneOf: [
        { type: 'null' },
        {
          type: 'object',
          additionalProperties: false,
          required: ['quant', 'context', 'threads', 'batch', 'expected', 'reasons'],
          properties: {
            quant: { type: 'string', minLength: 1 },
            context: count,
            threads: count,
            batch: count,
            expected: {
              type: 'object',
              additionalProperties: false,
              required: ['generationTokensPerSecond', 'promptTokensPerSecond', 'memoryBytes'],
              properties: {
                generationTokensPerSecond: nonNegative,
                promptTokensPerSecond: nonNegative,
                memoryBytes: nonNegative,
                kld: nonNegative,
                top1Agreement: { type: 'number', minimum: 0, maximum: 1 },
              },
            },
            reasons: { type: 'array', items: { type: 'string' } },
          },
        },
      ],
    },
    rejected: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['option', 'constraint', 'reason'],
        properties: {
          option: { type: 'string' },
          constraint: { enum: ['max-memory', 'device-memory', 'min-tokens-per-second', 'context', 'max-kl'] },
          reason: { type: 'string' },
        },
      },
    },
  },
} as const;
