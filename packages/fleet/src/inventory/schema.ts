// JSON Schema (draft-07) of fleet files, version alki.dev/v1. This object is
// the source of truth; schema/fleet.v1.json in the package is the same
// document for editors and other languages (a test keeps them identical).
// The schema checks shape only; rules that need the whole file (exactly one
// of two keys, duplicates, selectors that match nothing) are checked in
// check-fleet.ts, which can name the line and say what to do.

// Kubernetes "Labels and Selectors": a name segment is at most 63 characters
// of [A-Za-z0-9._-], beginning and ending alphanumeric; a key may have a DNS
// subdomain prefix and a slash. Inventory labels become node labels, so they
// must be valid there.
const LABEL_NAME = '[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?';
const LABEL_KEY_PATTERN = `^(?:[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?/)?${LABEL_NAME}$`;
const LABEL_VALUE_PATTERN = `^(?:${LABEL_NAME})?$`;
// RFC 1123 labels: device, group, ring and experiment names become
// Kubernetes object names, namespaces and Argo CD cluster names.
const DNS_LABEL_PATTERN = '^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$';
// A group name is used in the namespace `alki-<group>-b`, which must stay a
// 63-character DNS label.
const GROUP_NAME_PATTERN = '^[a-z0-9](?:[-a-z0-9]{0,52}[a-z0-9])?$';
/** `store-{001..120}`: a prefix, a numeric range in braces, a suffix. */
export const DEVICE_RANGE_PATTERN = '^([a-z0-9-]*)\\{([0-9]+)\\.\\.([0-9]+)\\}([a-z0-9-]*)$';
// Argo Rollouts durations: a whole number with s, m or h.
const DURATION_PATTERN = '^[1-9][0-9]*(?:s|m|h)$';

const labels = {
  type: 'object',
  propertyNames: { pattern: LABEL_KEY_PATTERN },
  additionalProperties: { type: 'string', pattern: LABEL_VALUE_PATTERN },
} as const;

const selector = {
  type: 'object',
  propertyNames: { pattern: LABEL_KEY_PATTERN },
  additionalProperties: {
    anyOf: [
      { type: 'string', pattern: LABEL_VALUE_PATTERN },
      {
        type: 'array',
        minItems: 1,
        uniqueItems: true,
        items: { type: 'string', pattern: LABEL_VALUE_PATTERN },
      },
    ],
  },
} as const;

const device = {
  anyOf: [
    { type: 'string', pattern: DNS_LABEL_PATTERN },
    {
      type: 'object',
      additionalProperties: false,
      required: ['name'],
      properties: {
        name: { type: 'string', pattern: DNS_LABEL_PATTERN },
        labels,
        /** This device's address, when the group's endpoint template does not fit it. */
        endpoint: { type: 'string', pattern: '^https?://' },
      },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: ['range'],
      properties: { range: { type: 'string', pattern: DEVICE_RANGE_PATTERN }, labels },
    },
  ],
} as const;

const group = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'hardware', 'reach', 'devices'],
  properties: {
    name: { type: 'string', pattern: GROUP_NAME_PATTERN },
    labels,
    hardware: {
      type: 'object',
      additionalProperties: false,
      properties: {
        /** A calibration profile (`alki calibrate --save-profile`), relative to the fleet file. */
        profile: { type: 'string', minLength: 1 },
        /** A device class of @alki/calibrate's catalogue (`rpi5`, `intel-n100`). */
        deviceClass: { type: 'string', minLength: 1 },
      },
    },
    server: {
      type: 'object',
      additionalProperties: false,
      properties: {
        quant: { type: 'string', minLength: 1 },
        ctx: { type: 'integer', minimum: 64 },
        /** Requests served at once, each with the whole `ctx`; needs `ctx`. */
        parallel: { type: 'integer', minimum: 1, maximum: 256 },
        threads: { type: 'integer', minimum: 1 },
        batch: { type: 'integer', minimum: 1 },
      },
    },
    reach: {
      type: 'object',
      additionalProperties: false,
      properties: {
        k3s: {
          type: 'object',
          additionalProperties: false,
          required: ['cluster'],
          properties: {
            /** The Argo CD cluster name; `{device}` makes one single-node cluster per device. */
            cluster: { type: 'string', minLength: 1 },
          },
        },
        systemd: {
          type: 'object',
          additionalProperties: false,
          properties: {
            /** The systemd unit the plan writes for these hosts. */
            unit: { type: 'string', pattern: '^[A-Za-z0-9:_.-]+\\.service$' },
          },
        },
      },
    },
    /** Where `alki fleet status` and Prometheus reach a device: `http://{device}.site.example:8080`. */
    endpoint: { type: 'string', pattern: '^https?://' },
    devices: { type: 'array', minItems: 1, items: device },
  },
} as const;

const ring = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: { name: { type: 'string', pattern: DNS_LABEL_PATTERN }, selector },
} as const;

const experiment = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'split'],
  properties: {
    name: { type: 'string', pattern: DNS_LABEL_PATTERN },
    /** The devices in the experiment; all devices when absent. */
    selector,
    split: {
      type: 'object',
      additionalProperties: false,
      required: ['by'],
      properties: {
        by: { enum: ['hash', 'label'] },
        /** `by: hash`: the percentage of devices in cohort B. */
        percentB: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 100 },
        /** `by: label`: the devices of cohort B. */
        selectorB: selector,
      },
    },
  },
} as const;

/** The JSON Schema of a fleet file (`apiVersion: alki.dev/v1`, `kind: Fleet`). */
export const fleetSchemaV1 = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://alki.dev/schemas/fleet.v1.json',
  title: 'Alki fleet',
  type: 'object',
  additionalProperties: false,
  required: ['apiVersion', 'kind', 'name', 'runtime', 'groups'],
  properties: {
    apiVersion: { const: 'alki.dev/v1' },
    kind: { const: 'Fleet' },
    name: { type: 'string', pattern: DNS_LABEL_PATTERN },
    runtime: {
      type: 'object',
      additionalProperties: false,
      required: ['image'],
      properties: {
        /** The two-stage runtime image (`alki image runtime`), pinned: `registry/alki-runtime@sha256:...`. */
        image: { type: 'string', minLength: 1 },
        port: { type: 'integer', minimum: 1, maximum: 65535 },
      },
    },
    gitops: {
      type: 'object',
      additionalProperties: false,
      required: ['repo'],
      properties: {
        /** The Git repository Argo CD reads the plan from. */
        repo: { type: 'string', minLength: 1 },
        /** Branch, tag or commit; HEAD when absent. */
        revision: { type: 'string', minLength: 1 },
        /** Where `alki fleet plan -o` writes the tree inside the repository; the root when absent. */
        path: { type: 'string', pattern: '^(?!/)(?!.*(?:^|/)\\.\\.(?:/|$)).+$' },
        /** The Argo CD project of the generated Applications; `default` when absent. */
        project: { type: 'string', pattern: DNS_LABEL_PATTERN },
      },
    },
    prometheus: {
      type: 'object',
      additionalProperties: false,
      required: ['url'],
      properties: { url: { type: 'string', pattern: '^https?://' } },
    },
    canary: {
      type: 'object',
      additionalProperties: false,
      properties: {
        steps: {
          type: 'array',
          minItems: 1,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['weight'],
            properties: {
              weight: { type: 'integer', minimum: 1, maximum: 100 },
              pause: { type: 'string', pattern: DURATION_PATTERN },
            },
          },
        },
      },
    },
    analysis: {
      type: 'object',
      additionalProperties: false,
      properties: {
        interval: { type: 'string', pattern: DURATION_PATTERN },
        window: { type: 'string', pattern: DURATION_PATTERN },
        maxErrorRateIncrease: { type: 'number', minimum: 0, maximum: 1 },
        maxTimeToFirstTokenRatio: { type: 'number', minimum: 1 },
        minTokensPerSecondRatio: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
        /** Which checks the canary runs; all three by default. */
        checks: {
          type: 'array',
          minItems: 1,
          uniqueItems: true,
          items: {
            enum: ['error-rate-increase', 'time-to-first-token-p95-ratio', 'tokens-per-second-ratio'],
          },
        },
      },
    },
    groups: { type: 'array', minItems: 1, items: group },
    rings: { type: 'array', minItems: 1, items: ring },
    experiments: { type: 'array', items: experiment },
  },
} as const;
