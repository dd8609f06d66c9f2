import { describe, expect, it } from '@jest/globals';
import { Authenticator, parseChallenge, repositoryScope } from './auth.js';

describe('parseChallenge', () => {
  it('reads a bearer challenge with quoted realm, service and scope', () => {
    expect(
      parseChallenge(
        'Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push"',
      ),
    ).toEqual({
      scheme: 'bearer',
      params: {
        realm: 'https://auth.example.com/token',
        service: 'registry.example.com',
        scope: 'repository:a/b:pull,push',
      },
    });
  });

  it('reads a basic challenge and escaped quotes', () => {
    expect(parseChallenge('Basic realm="my \\"registry\\""')).toEqual({
      scheme: 'basic',
      params: { realm: 'my "registry"' },
    });
  });
});

describe('Authenticator', () => {
  function tokenServer(): { fetch: typeof fetch; requests: URL[] } {
    const requests: URL[] = [];
    return {
      requests,
      fetch: (input) => {
        const url = new URL(new Request(input).url);
        requests.push(url);
        return Promise.resolve(
          new Response(JSON.stringify({ token: `t${requests.length}`, expires_in: 300 }), { status: 200 }),
        );
      },
    };
  }
  const challenge = () =>
    new Response(null, {
      status: 401,
      headers: { 'www-authenticate': 'Bearer realm="http://127.0.0.1:9/token",service="reg"' },
    });

  it('asks for a token with service and scopes, then reuses it until it expires', async () => {
    let now = 0;
    const server = tokenServer();
    const auth = new Authenticator({ fetch: server.fetch, now: () => now, registry: 'reg' });
    const pull = [repositoryScope('a/b', ['pull'])];
    expect(await auth.authorize(pull, challenge())).toBe('Bearer t1');
    expect(server.requests[0].searchParams.get('service')).toBe('reg');
    expect(server.requests[0].searchParams.getAll('scope')).toEqual(['repository:a/b:pull']);
    expect(auth.cachedHeader(pull)).toBe('Bearer t1');
    // A different scope needs a new token.
    expect(auth.cachedHeader([repositoryScope('a/b', ['pull', 'push'])])).toBeUndefined();
    now = 296_000;
    expect(auth.cachedHeader(pull)).toBeUndefined();
    expect(await auth.authorize(pull)).toBe('Bearer t2');
    expect(auth.tokenRequests).toBe(2);
  });

  it('sends basic credentials to the token server, and an identity token as an OAuth2 refresh grant', async () => {
    const seen: RequestInit[] = [];
    const fetchSpy: typeof fetch = (_input, init) => {
      seen.push(init ?? {});
      return Promise.resolve(new Response(JSON.stringify({ access_token: 'x' }), { status: 200 }));
    };
    await new Authenticator({
      fetch: fetchSpy,
      now: () => 0,
      registry: 'reg',
      credentials: { username: 'u', password: 'p' },
    }).authorize([], challenge());
    expect((seen[0].headers as Record<string, string>).authorization).toBe(
      `Basic ${Buffer.from('u:p').toString('base64')}`,
    );
    await new Authenticator({
      fetch: fetchSpy,
      now: () => 0,
      registry: 'reg',
      credentials: { identityToken: 'refresh-me' },
    }).authorize(['repository:a:pull'], challenge());
    expect(seen[1].method).toBe('POST');
    const form = await new Response(seen[1].body).text();
    expect(form).toContain('grant_type=refresh_token');
    expect(form).toContain('refresh_token=refresh-me');
  });

  it('reports a refused token request as AUTH_FAILED', async () => {
    const refusing: typeof fetch = () => Promise.resolve(new Response('no', { status: 401 }));
    await expect(
      new Authenticator({
        fetch: refusing,
        now: () => 0,
        registry: 'reg',
        credentials: { username: 'u', password: 'bad' },
      }).authorize([], challenge()),
    ).rejects.toMatchObject({ code: 'AUTH_FAILED' });
  });
});
