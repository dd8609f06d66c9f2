// JSON Schema (draft-07) of a trust policy, version 1. This object is the
// source of truth; schema/trust-policy.v1.json in the package is the same
// document for other tools, and a test keeps the two identical.

const pem = { type: 'string', pattern: '-----BEGIN PUBLIC KEY-----' } as const;
const text = { type: 'string', minLength: 1 } as const;
const name = { ...text, description: 'What people call the key in messages.' } as const;

/** JSON Schema of an Alki trust policy, version 1. */
export const trustPolicySchemaV1 = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://alki.dev/schemas/signer/trust-policy.v1.json',
  title: 'Alki trust policy, version 1',
  description:
    'Who may sign the bundles a device runs. A bundle passes when its files match its manifest and, if signatures are required, the manifest is signed by a listed key or identity.',
  type: 'object',
  additionalProperties: false,
  required: ['schema_version'],
  properties: {
    $schema: { type: 'string' },
    schema_version: { const: 1 },
    require_signature: {
      type: 'boolean',
      default: true,
      description: 'Refuse bundles without a signature by a trusted key or identity.',
    },
    require_provenance: {
      type: 'boolean',
      default: false,
      description: 'Also refuse bundles without SLSA provenance signed by a trusted key or identity.',
    },
    keys: {
      type: 'array',
      description: 'Trusted ECDSA P-256 public keys (alki keygen): the PEM text, or a file.',
      items: {
        oneOf: [
          {
            type: 'object',
            additionalProperties: false,
            required: ['public_key'],
            properties: { name, public_key: { ...pem, description: 'The PEM text of the key.' } },
          },
          {
            type: 'object',
            additionalProperties: false,
            required: ['path'],
            properties: {
              name,
              path: {
                type: 'string',
                minLength: 1,
                description:
                  'A PEM file, relative to the policy file (or to the working directory for inline policies).',
              },
            },
          },
        ],
      },
    },
    identities: {
      type: 'array',
      description:
        'Trusted keyless signers: a certificate subject (exact, or a regular expression the whole subject matches) and its OIDC issuer.',
      items: {
        oneOf: [
          {
            type: 'object',
            additionalProperties: false,
            required: ['subject', 'issuer'],
            properties: { subject: text, issuer: text },
          },
          {
            type: 'object',
            additionalProperties: false,
            required: ['subject_regexp', 'issuer'],
            properties: { subject_regexp: text, issuer: text },
          },
        ],
      },
    },
    trusted_root: {
      description:
        'The Sigstore trusted root for identities: a trusted_root.json path, or the document inline. Default: the public-good instance, fetched through TUF.',
      oneOf: [{ type: 'string', minLength: 1 }, { type: 'object' }],
    },
  },
} as const;
