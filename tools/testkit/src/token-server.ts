import { createSign, randomUUID, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { selfSignedCertificate } from './certificate.js';

export interface TokenServerOptions {
  /** Users and passwords the server accepts with HTTP Basic. Without any, every request is anonymous and granted. */
  users?: Record<string, string>;
  /** The `service` the registry names in its challenge. Default 'alki-test-registry'. */
  service?: string;
  /** Seconds a token lives (`expires_in`). Default 300. */
  lifetimeSeconds?: number;
}

export interface TokenRequestRecord {
  username: string | undefined;
  scopes: string[];
}

export interface TokenServer {
  /** The token endpoint URL: the registry's `realm`. */
  realm: string;
  service: string;
  issuer: string;
  /** A PEM file with the certificate whose key signs tokens: the registry's `rootcertbundle`. */
  rootCertBundle: string;
  /** Every token request, in order, for tests that check scopes and caching. */
  requests: TokenRequestRecord[];
  stop(): Promise<void>;
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/**
 * A token server of the Docker token spec (distribution docs/spec/auth/token.md)
 * on 127.0.0.1, for registry tests: it checks Basic credentials, grants the
 * scopes asked for, and signs RS256 JWTs whose `x5c` header carries a
 * self-signed certificate that the registry trusts through `rootCertBundle`.
 * Pass the result to `startRegistry({ tokenAuth })`.
 */
export async function startTokenServer(options: TokenServerOptions = {}): Promise<TokenServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-token-'));
  const made = selfSignedCertificate(dir, {
    commonName: 'alki-test-token-issuer',
    purpose: 'the registry token-auth tests (to make a signing certificate)',
  });
  const key = made.key.toString('utf8');
  const certificate = new X509Certificate(made.cert);
  const service = options.service ?? 'alki-test-registry';
  const issuer = 'alki-test-token-issuer';
  const lifetime = options.lifetimeSeconds ?? 300;
  const requests: TokenRequestRecord[] = [];

  const sign = (claims: object): string => {
    const header = base64url(
      JSON.stringify({ typ: 'JWT', alg: 'RS256', x5c: [certificate.raw.toString('base64')] }),
    );
    const payload = base64url(JSON.stringify(claims));
    const signer = createSign('RSA-SHA256');
    signer.update(`${header}.${payload}`);
    return `${header}.${payload}.${base64url(signer.sign(key))}`;
  };

  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    let username: string | undefined;
    const authorization = request.headers.authorization;
    if (authorization?.startsWith('Basic ')) {
      const decoded = Buffer.from(authorization.slice(6), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      username = decoded.slice(0, colon);
      if (options.users?.[username] !== decoded.slice(colon + 1)) {
        response
          .writeHead(401, { 'content-type': 'application/json' })
          .end(JSON.stringify({ details: 'wrong user name or password' }));
        return;
      }
    } else if (options.users && Object.keys(options.users).length > 0) {
      response
        .writeHead(401, { 'content-type': 'application/json' })
        .end(JSON.stringify({ details: 'credentials required' }));
      return;
    }
    const scopes = url.searchParams
      .getAll('scope')
      .flatMap((scope) => scope.split(' '))
      .filter(Boolean);
    requests.push({ username, scopes });
    // Scope grammar: type:name:actions, where the name may hold a port colon.
    const access = scopes.map((scope) => {
      const first = scope.indexOf(':');
      const last = scope.lastIndexOf(':');
      return {
        type: scope.slice(0, first),
        name: scope.slice(first + 1, last),
        actions: scope.slice(last + 1).split(','),
      };
    });
    const now = Math.floor(Date.now() / 1000);
    const token = sign({
      iss: issuer,
      sub: username ?? '',
      aud: service,
      exp: now + lifetime,
      nbf: now - 10,
      iat: now,
      jti: randomUUID(),
      access,
    });
    response.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        token,
        access_token: token,
        expires_in: lifetime,
        issued_at: new Date(now * 1000).toISOString(),
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as import('node:net').AddressInfo;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    rootCertBundle: made.certFile,
    requests,
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
