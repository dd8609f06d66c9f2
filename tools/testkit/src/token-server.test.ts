import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createVerify, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import { startTokenServer, type TokenServer } from './token-server.js';

describe('startTokenServer', () => {
  let server: TokenServer;
  beforeAll(async () => {
    server = await startTokenServer({ users: { bob: 'pw' }, lifetimeSeconds: 120 });
  });
  afterAll(async () => {
    await server?.stop();
  });

  const basic = (user: string, password: string) => ({
    authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
  });

  it('issues an RS256 JWT with the asked scopes, signed by the certificate in rootCertBundle', async () => {
    const response = await fetch(
      `${server.realm}?service=${server.service}&scope=repository:a/b:pull,push&scope=repository:c:pull`,
      { headers: basic('bob', 'pw') },
    );
    expect(response.status).toBe(200);
    const body = (await response.json()) as { token: string; expires_in: number };
    expect(body.expires_in).toBe(120);
    const [header, payload, signature] = body.token.split('.');
    const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    expect(claims).toMatchObject({
      iss: server.issuer,
      sub: 'bob',
      aud: server.service,
      access: [
        { type: 'repository', name: 'a/b', actions: ['pull', 'push'] },
        { type: 'repository', name: 'c', actions: ['pull'] },
      ],
    });
    const certificate = new X509Certificate(fs.readFileSync(server.rootCertBundle));
    const verifier = createVerify('RSA-SHA256');
    verifier.update(`${header}.${payload}`);
    expect(verifier.verify(certificate.publicKey, Buffer.from(signature, 'base64url'))).toBe(true);
    const jwtHeader = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as { x5c: string[] };
    expect(jwtHeader.x5c[0]).toBe(certificate.raw.toString('base64'));
    expect(server.requests.at(-1)).toEqual({
      username: 'bob',
      scopes: ['repository:a/b:pull,push', 'repository:c:pull'],
    });
  });

  it('answers 401 to a wrong password and to anonymous requests when users are set', async () => {
    expect((await fetch(server.realm, { headers: basic('bob', 'nope') })).status).toBe(401);
    expect((await fetch(server.realm)).status).toBe(401);
  });
});
