import { OciError } from '../errors.js';
import type { Credentials } from './credentials.js';

/** A parsed `WWW-Authenticate` challenge (RFC 9110 section 11.6.1). */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parses `Bearer realm="...",service="...",scope="..."` or `Basic realm="..."`.
 * Only the first challenge is used: registries send one.
 */
export function parseChallenge(header: string): Challenge | undefined {
  const match = /^\s*([A-Za-z][A-Za-z0-9._~+/-]*)\s*(.*)$/s.exec(header);
  if (!match) return undefined;
  const params: Record<string, string> = {};
  const pattern = /([A-Za-z0-9_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?\s*/gy;
  pattern.lastIndex = 0;
  const rest = match[2];
  let param: RegExpExecArray | null;
  while ((param = pattern.exec(rest)) !== null && param[0].length > 0) {
    params[param[1].toLowerCase()] = param[2] !== undefined ? param[2].replace(/\\(.)/g, '$1') : param[3];
  }
  return { scheme: match[1].toLowerCase(), params };
}

/** The scope string of the Docker token spec (docs/spec/auth/scope.md). */
export function repositoryScope(repository: string, actions: Array<'pull' | 'push' | 'delete'>): string {
  return `repository:${repository}:${actions.join(',')}`;
}

interface CachedToken {
  scopes: Set<string>;
  header: string;
  expiresAt: number;
}

export interface AuthenticatorOptions {
  credentials?: Credentials;
  fetch: typeof fetch;
  now: () => number;
  /** The registry host, for messages. */
  registry: string;
}

// The token spec says a token without expires_in lasts 60 seconds.
const DEFAULT_TOKEN_LIFETIME_S = 60;
// Refresh a little early, so a token never expires between check and use.
const EXPIRY_MARGIN_MS = 5_000;

/**
 * Holds what a registry wants for authorization: nothing, Basic, or bearer
 * tokens from its token server (the Docker token spec, docs/spec/auth/token.md).
 * Tokens are cached per scope set until they expire, and a cached token that
 * covers more scopes is reused for fewer.
 */
export class Authenticator {
  private challenge: Challenge | undefined;
  private readonly tokens: CachedToken[] = [];
  /** How many tokens were fetched from the token server; tests read it to prove caching. */
  tokenRequests = 0;

  constructor(private readonly options: AuthenticatorOptions) {}

  /** The Authorization header for a request needing `scopes`, if one is known without asking the token server. */
  cachedHeader(scopes: string[]): string | undefined {
    if (!this.challenge) return undefined;
    if (this.challenge.scheme === 'basic') return this.basicHeader();
    const now = this.options.now();
    const hit = this.tokens.find(
      (token) => token.expiresAt > now && scopes.every((scope) => token.scopes.has(scope)),
    );
    return hit?.header;
  }

  /** True once the registry has said it wants bearer tokens, so a header can be fetched before a request. */
  get knowsTokenRealm(): boolean {
    return this.challenge?.scheme === 'bearer';
  }

  /**
   * The Authorization header for `scopes`, fetching a token when needed. Call
   * it with the challenge of a 401, or without one once a challenge is known.
   */
  async authorize(scopes: string[], response?: Response): Promise<string> {
    if (response) {
      const header = response.headers.get('www-authenticate');
      const challenge = header ? parseChallenge(header) : undefined;
      if (!challenge || (challenge.scheme !== 'basic' && challenge.scheme !== 'bearer')) {
        throw new OciError(
          'AUTH_FAILED',
          `${this.options.registry} refused the request with 401 and an unsupported challenge: ${header ?? '(none)'}.`,
          {
            details: { registry: this.options.registry, challenge: header },
          },
        );
      }
      this.challenge = challenge;
      // The registry may name a scope we did not think of (a mount source, say).
      if (challenge.params.scope)
        for (const scope of challenge.params.scope.split(' '))
          if (!scopes.includes(scope)) scopes = [...scopes, scope];
    }
    const cached = this.cachedHeader(scopes);
    if (cached) return cached;
    if (!this.challenge) throw new Error('authorize() needs a challenge first');
    if (this.challenge.scheme === 'basic') {
      throw this.credentialsRequired();
    }
    return this.fetchToken(scopes);
  }

  private basicHeader(): string {
    const credentials = this.options.credentials;
    if (!credentials || !('username' in credentials)) throw this.credentialsRequired();
    return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString('base64')}`;
  }

  private credentialsRequired(): OciError {
    return new OciError('AUTH_REQUIRED', `${this.options.registry} requires a user name and password.`, {
      hint: 'Pass --username and --password-stdin, set ALKI_REGISTRY_USERNAME and ALKI_REGISTRY_PASSWORD, or log in with `docker login`.',
      details: { registry: this.options.registry },
    });
  }

  private async fetchToken(scopes: string[]): Promise<string> {
    const { realm, service } = this.challenge!.params;
    if (!realm)
      throw new OciError(
        'AUTH_FAILED',
        `${this.options.registry} asked for a bearer token but named no realm.`,
        { details: { registry: this.options.registry } },
      );
    const credentials = this.options.credentials;
    const url = new URL(realm);
    let response: Response;
    this.tokenRequests++;
    try {
      if (credentials && 'identityToken' in credentials) {
        // OAuth2 refresh-token grant (docs/spec/auth/oauth.md), how Docker uses identity tokens.
        const form = new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: credentials.identityToken,
          client_id: 'alki',
          scope: scopes.join(' '),
        });
        if (service) form.set('service', service);
        response = await this.options.fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: form,
        });
      } else {
        if (service) url.searchParams.set('service', service);
        for (const scope of scopes) url.searchParams.append('scope', scope);
        const headers: Record<string, string> = {};
        if (credentials)
          headers.authorization = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString('base64')}`;
        response = await this.options.fetch(url, { headers });
      }
    } catch (error) {
      throw new OciError(
        'UNREACHABLE',
        `Could not reach the token server ${url.origin} of ${this.options.registry}.`,
        { cause: error, details: { realm } },
      );
    }
    if (response.status === 401 || response.status === 403) {
      await response.arrayBuffer().catch(() => undefined);
      throw new OciError(
        'AUTH_FAILED',
        `The token server of ${this.options.registry} refused ${credentials ? 'the credentials' : 'anonymous access'} (HTTP ${response.status}).`,
        {
          hint: credentials
            ? 'Check the user name and password.'
            : 'Log in: pass --username and --password-stdin, or use `docker login`.',
          details: { realm, status: response.status, scopes },
        },
      );
    }
    if (!response.ok) {
      await response.arrayBuffer().catch(() => undefined);
      throw new OciError(
        'AUTH_FAILED',
        `The token server of ${this.options.registry} answered HTTP ${response.status}.`,
        { details: { realm, status: response.status } },
      );
    }
    let body: { token?: string; access_token?: string; expires_in?: number };
    try {
      body = (await response.json()) as typeof body;
    } catch (error) {
      throw new OciError('AUTH_FAILED', `The token server of ${this.options.registry} did not answer JSON.`, {
        cause: error,
        details: { realm },
      });
    }
    const token = body.token ?? body.access_token;
    if (!token)
      throw new OciError(
        'AUTH_FAILED',
        `The token server of ${this.options.registry} answered without a token.`,
        { details: { realm } },
      );
    const lifetime =
      (typeof body.expires_in === 'number' && body.expires_in > 0
        ? body.expires_in
        : DEFAULT_TOKEN_LIFETIME_S) * 1000;
    const header = `Bearer ${token}`;
    this.tokens.push({
      scopes: new Set(scopes),
      header,
      expiresAt: this.options.now() + lifetime - EXPIRY_MARGIN_MS,
    });
    return header;
  }
}
