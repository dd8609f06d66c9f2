import type { KeyObject } from 'node:crypto';
import { describeSystemError } from '@alki/errors';
import { listProblems, schemaProblems, schemaValidator } from '@alki/bundler';
import { GgufError, openRegularFile } from '@alki/gguf-reader';
import path from 'node:path';
import { SignerError } from '../errors.js';
import { keyIdOf, loadPublicKey } from '../keys/key-pair.js';
import { trustPolicySchemaV1 } from './schema.js';

/** A trust policy file as written (JSON, snake_case). */
export interface TrustPolicyDocument {
  $schema?: string;
  schema_version: 1;
  require_signature?: boolean;
  require_provenance?: boolean;
  keys?: Array<{ name?: string; public_key?: string; path?: string }>;
  identities?: Array<{ subject?: string; subject_regexp?: string; issuer: string }>;
  trusted_root?: string | Record<string, unknown>;
}

export interface TrustedKey {
  /** The policy's name for it, else its short id. */
  name: string;
  keyId: string;
  publicKey: KeyObject;
}

export interface TrustedIdentity {
  /** Exact certificate subject (SAN): an email, or a workflow URI. */
  subject?: string;
  /** Or a regular expression the whole subject must match. */
  subjectRegExp?: RegExp;
  /** The OIDC issuer that vouched for the subject. */
  issuer: string;
}

/** A trust policy ready to verify with: keys parsed, paths read. */
export interface TrustPolicy {
  requireSignature: boolean;
  requireProvenance: boolean;
  keys: TrustedKey[];
  identities: TrustedIdentity[];
  /** A Sigstore trusted_root.json document; undefined means the public-good root. */
  trustedRoot?: unknown;
}

function invalid(where: string, problem: string, hint?: string): SignerError {
  return new SignerError('INVALID_POLICY', `The trust policy ${where} ${problem}.`, {
    hint: hint ?? 'Compare it with docs/signing.md ("Trust policy") and schema/trust-policy.v1.json.',
    details: { policy: where },
  });
}

// A policy and the files it names are opened without blocking and must be
// regular files: a FIFO or a device in a key's place is refused, never waited on.
async function readRegularText(file: string): Promise<string> {
  const handle = await openRegularFile(file);
  try {
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

// Why readRegularText failed, for a message.
function unreadable(error: unknown): string {
  return error instanceof GgufError ? error.message : (describeSystemError(error)?.message ?? String(error));
}

async function readText(file: string, what: string, where: string): Promise<string> {
  return readRegularText(file).catch((error: unknown) => {
    throw invalid(where, `names ${what} ${file}, which cannot be read (${unreadable(error)})`);
  });
}

/** A short key id for people: the first 16 hex digits, as file names use. */
export function shortKeyId(keyId: string): string {
  return keyId.slice(0, 16);
}

/**
 * Turns a policy document into a TrustPolicy: validates it against the
 * schema, reads key and trusted-root files relative to `baseDir`, compiles
 * subject patterns.
 *
 * @example
 * const policy = await resolveTrustPolicy({ schema_version: 1, keys: [{ path: 'alki.pub' }] }, process.cwd());
 */
export async function resolveTrustPolicy(
  document: unknown,
  baseDir: string,
  where = 'document',
): Promise<TrustPolicy> {
  const validatePolicy = schemaValidator<TrustPolicyDocument>(trustPolicySchemaV1);
  if (!validatePolicy(document)) {
    const problems = listProblems(schemaProblems(validatePolicy.errors));
    throw invalid(where, `is not a valid version 1 policy: ${problems}`);
  }
  const keys: TrustedKey[] = [];
  for (const [index, entry] of (document.keys ?? []).entries()) {
    const label = `key ${entry.name ?? entry.path ?? index + 1} of the trust policy`;
    const pem =
      entry.public_key ??
      (await readText(path.resolve(baseDir, entry.path as string), 'the key file', where));
    const publicKey = loadPublicKey(pem, label);
    const keyId = keyIdOf(publicKey);
    keys.push({ name: entry.name ?? shortKeyId(keyId), keyId, publicKey });
  }
  const identities: TrustedIdentity[] = (document.identities ?? []).map((entry) => {
    if (entry.subject_regexp === undefined) return { subject: entry.subject, issuer: entry.issuer };
    try {
      // Anchored: a pattern that matched part of a subject would trust far more than it says.
      return { subjectRegExp: new RegExp(`^(?:${entry.subject_regexp})$`), issuer: entry.issuer };
    } catch {
      throw invalid(where, `has a subject_regexp that is not a regular expression: ${entry.subject_regexp}`);
    }
  });
  let trustedRoot: unknown;
  if (typeof document.trusted_root === 'string') {
    const file = path.resolve(baseDir, document.trusted_root);
    try {
      trustedRoot = JSON.parse(await readText(file, 'the trusted root', where));
    } catch (error) {
      if (error instanceof SignerError) throw error;
      throw invalid(where, `names the trusted root ${file}, which is not JSON`);
    }
  } else {
    trustedRoot = document.trusted_root;
  }
  const requireSignature = document.require_signature ?? true;
  if (requireSignature && keys.length === 0 && identities.length === 0) {
    throw invalid(
      where,
      'requires a signature but trusts no key and no identity',
      'List keys or identities, or set "require_signature": false.',
    );
  }
  return {
    requireSignature,
    requireProvenance: document.require_provenance ?? false,
    keys,
    identities,
    ...(trustedRoot === undefined ? {} : { trustedRoot }),
  };
}

/**
 * Loads a trust policy from a file, or from inline JSON (text starting with
 * `{`, as ALKI_TRUST_POLICY may hold). Inline policies resolve relative paths
 * against `cwd`.
 *
 * @example
 * const policy = await loadTrustPolicy(process.env.ALKI_TRUST_POLICY ?? 'policy.json');
 */
export async function loadTrustPolicy(fileOrJson: string, cwd = process.cwd()): Promise<TrustPolicy> {
  const inline = fileOrJson.trimStart().startsWith('{');
  const where = inline ? '(inline)' : fileOrJson;
  const text = inline
    ? fileOrJson
    : await readRegularText(path.resolve(cwd, fileOrJson)).catch((error: unknown) => {
        throw new SignerError(
          'INVALID_POLICY',
          `The trust policy file ${fileOrJson} cannot be read (${unreadable(error)}).`,
          {
            hint: 'Pass a path to a policy JSON file, or the policy itself as JSON text.',
            details: { policy: fileOrJson },
          },
        );
      });
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw invalid(where, 'is not valid JSON');
  }
  const baseDir = inline ? cwd : path.dirname(path.resolve(cwd, fileOrJson));
  return resolveTrustPolicy(document, baseDir, where);
}
