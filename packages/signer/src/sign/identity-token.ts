import { readFile } from 'node:fs/promises';
import { SignerError } from '../errors.js';

/** What a JWT's payload says about the signer, read without checking its signature (Fulcio does that). */
export interface IdentityClaims {
  /** The identity Fulcio puts in the certificate: a verified `email`, else `sub`. */
  subject: string;
  issuer: string;
}

/** Where keyless signing may find an OIDC identity token, in the order tried. */
export interface IdentityTokenSources {
  /** A file holding the token (`--identity-token FILE`). */
  file?: string;
  /** The environment: SIGSTORE_ID_TOKEN, then GitHub Actions' token request variables. */
  env?: NodeJS.ProcessEnv;
  /** For GitHub Actions' token endpoint. */
  fetch?: typeof fetch;
  /** The audience asked of a CI token service; Fulcio expects `sigstore`. */
  audience?: string;
}

/** Where a token came from, for messages: never the token itself. */
export type IdentityTokenOrigin = 'file' | 'SIGSTORE_ID_TOKEN' | 'github-actions';

const JWT = /^[A-Za-z0-9_-]+\.([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]*$/;

/**
 * The claims of a JWT, checked for the shape Fulcio needs. Errors describe
 * the problem and never quote the token.
 *
 * @example
 * const { subject, issuer } = identityClaims(token);
 */
export function identityClaims(token: string): IdentityClaims {
  const match = JWT.exec(token);
  const fail = (why: string) =>
    new SignerError('INVALID_IDENTITY_TOKEN', `The identity token ${why}.`, {
      hint: 'Pass an OIDC ID token (a JWT) from your identity provider or CI; access tokens are not accepted.',
    });
  if (!match) throw fail('is not a JWT (three base64url parts separated by dots)');
  let payload: Record<string, unknown>;
  try {
    payload = JSON.parse(Buffer.from(match[1], 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    throw fail('has a payload that is not JSON');
  }
  if (typeof payload.iss !== 'string' || payload.iss === '') throw fail('names no issuer (iss)');
  if (typeof payload.email === 'string' && payload.email !== '') {
    if (payload.email_verified !== true) throw fail('has an email its issuer has not verified');
    return { subject: payload.email, issuer: payload.iss };
  }
  if (typeof payload.sub !== 'string' || payload.sub === '') throw fail('names no subject (sub or email)');
  return { subject: payload.sub, issuer: payload.iss };
}

async function githubActionsToken(env: NodeJS.ProcessEnv, fetchImpl: typeof fetch, audience: string) {
  const url = new URL(env.ACTIONS_ID_TOKEN_REQUEST_URL as string);
  url.searchParams.set('audience', audience);
  let response: Response;
  try {
    response = await fetchImpl(url, {
      headers: { Accept: 'application/json', Authorization: `Bearer ${env.ACTIONS_ID_TOKEN_REQUEST_TOKEN}` },
    });
  } catch {
    throw new SignerError(
      'IDENTITY_TOKEN_MISSING',
      `GitHub Actions' token service (${url.host}) could not be reached.`,
      {
        category: 'network',
        hint: 'Give the job `permissions: id-token: write`, or pass a token with --identity-token.',
      },
    );
  }
  const body = (await response.json().catch(() => ({}))) as { value?: unknown };
  if (!response.ok || typeof body.value !== 'string') {
    throw new SignerError(
      'IDENTITY_TOKEN_MISSING',
      `GitHub Actions' token service answered ${response.status} without a token.`,
      {
        category: 'network',
        hint: 'Give the job `permissions: id-token: write`.',
      },
    );
  }
  return body.value;
}

/**
 * Finds the OIDC identity token for keyless signing: a file given by flag,
 * else SIGSTORE_ID_TOKEN (cosign's variable, also GitLab CI's convention),
 * else GitHub Actions' token service. The token is validated as a JWT; it is
 * returned, never logged.
 *
 * @example
 * const { token, origin } = await resolveIdentityToken({ env: process.env });
 */
export async function resolveIdentityToken(
  sources: IdentityTokenSources,
): Promise<{ token: string; origin: IdentityTokenOrigin; claims: IdentityClaims }> {
  const env = sources.env ?? {};
  let token: string | undefined;
  let origin: IdentityTokenOrigin | undefined;
  if (sources.file !== undefined) {
    try {
      token = (await readFile(sources.file, 'utf8')).trim();
    } catch (error) {
      throw new SignerError(
        'IDENTITY_TOKEN_MISSING',
        `Cannot read the identity token file ${sources.file}.`,
        {
          hint: 'Pass the path of a file that holds the OIDC token.',
          details: { file: sources.file, code: (error as NodeJS.ErrnoException).code },
        },
      );
    }
    origin = 'file';
  } else if (env.SIGSTORE_ID_TOKEN) {
    token = env.SIGSTORE_ID_TOKEN.trim();
    origin = 'SIGSTORE_ID_TOKEN';
  } else if (env.ACTIONS_ID_TOKEN_REQUEST_URL && env.ACTIONS_ID_TOKEN_REQUEST_TOKEN) {
    token = await githubActionsToken(env, sources.fetch ?? fetch, sources.audience ?? 'sigstore');
    origin = 'github-actions';
  }
  if (token === undefined || origin === undefined) {
    throw new SignerError(
      'IDENTITY_TOKEN_MISSING',
      'Keyless signing needs an OIDC identity token, and none was found.',
      {
        hint: 'Pass --identity-token FILE, set SIGSTORE_ID_TOKEN, or run in a CI job that issues OIDC tokens (GitHub Actions with id-token: write).',
      },
    );
  }
  return { token, origin, claims: identityClaims(token) };
}
