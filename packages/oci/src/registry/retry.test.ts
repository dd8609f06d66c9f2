import { describe, expect, it } from '@jest/globals';
import { RegistryClient } from './client.js';
import { parseRetryAfter, withRetry, DEFAULT_RETRY } from './retry.js';

// A registry that fails a set number of times before it answers, played by
// an injected fetch: the real docker-registry cannot be told to answer 503.
function flaky(
  failures: Array<Response | Error>,
  final: () => Response,
): { fetch: typeof fetch; calls: () => number } {
  let calls = 0;
  return {
    fetch: () => {
      const next = failures[calls++];
      return next instanceof Error ? Promise.reject(next) : Promise.resolve(next ?? final());
    },
    calls: () => calls,
  };
}

describe('withRetry', () => {
  it('retries 503 and 429 with doubling back-off, honouring Retry-After in seconds', async () => {
    const waits: number[] = [];
    const server = flaky(
      [
        new Response('busy', { status: 503 }),
        new Response('slow down', { status: 429, headers: { 'retry-after': '7' } }),
        new Response('busy', { status: 502 }),
      ],
      () => new Response('ok', { status: 200 }),
    );
    const response = await withRetry('http://127.0.0.1:1/v2/', () => server.fetch('http://127.0.0.1:1/v2/'), {
      policy: { attempts: 5, baseDelayMs: 100, maxDelayMs: 10_000 },
      sleep: (ms) => {
        waits.push(ms);
        return Promise.resolve();
      },
      now: () => 0,
    });
    expect(response.status).toBe(200);
    expect(waits).toEqual([100, 7000, 400]);
  });

  it('caps a Retry-After at maxDelayMs and returns the last 5xx when attempts run out', async () => {
    const waits: number[] = [];
    const server = flaky([], () => new Response('down', { status: 503, headers: { 'retry-after': '3600' } }));
    const response = await withRetry('http://127.0.0.1:1/v2/', () => server.fetch('x'), {
      policy: { attempts: 3, baseDelayMs: 10, maxDelayMs: 500 },
      sleep: (ms) => {
        waits.push(ms);
        return Promise.resolve();
      },
      now: () => 0,
    });
    expect(response.status).toBe(503);
    expect(waits).toEqual([500, 500]);
    expect(server.calls()).toBe(3);
  });

  it('does not retry a 404 or 400', async () => {
    const server = flaky([], () => new Response('no', { status: 404 }));
    const response = await withRetry('http://127.0.0.1:1/v2/', () => server.fetch('x'), {
      policy: DEFAULT_RETRY,
      sleep: () => Promise.resolve(),
      now: () => 0,
    });
    expect(response.status).toBe(404);
    expect(server.calls()).toBe(1);
  });

  it('turns repeated connection failures into UNREACHABLE naming the host', async () => {
    const server = flaky([], () => {
      throw new TypeError('fetch failed', {
        cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
      });
    });
    await expect(
      withRetry('http://127.0.0.1:1/v2/', () => server.fetch('x'), {
        policy: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
        sleep: () => Promise.resolve(),
        now: () => 0,
      }),
    ).rejects.toMatchObject({
      code: 'UNREACHABLE',
      category: 'network',
      message: expect.stringContaining('127.0.0.1:1'),
    });
    expect(server.calls()).toBe(2);
  });
});

describe('parseRetryAfter', () => {
  it('reads delay-seconds and HTTP-dates, and ignores garbage', () => {
    expect(parseRetryAfter('120', 0)).toBe(120_000);
    expect(
      parseRetryAfter('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT')),
    ).toBe(10_000);
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
    expect(parseRetryAfter(null, 0)).toBeUndefined();
  });
});

describe('RegistryClient retries', () => {
  it('reports a 500 that persists after retries as REGISTRY_ERROR with the registry error text', async () => {
    const server = flaky(
      [],
      () =>
        new Response(JSON.stringify({ errors: [{ code: 'UNKNOWN', message: 'storage offline' }] }), {
          status: 500,
        }),
    );
    const client = new RegistryClient({
      registry: '127.0.0.1:1',
      fetch: server.fetch,
      sleep: () => Promise.resolve(),
      retry: { attempts: 3 },
    });
    await expect(client.ping()).rejects.toMatchObject({
      code: 'REGISTRY_ERROR',
      category: 'network',
      message: expect.stringContaining('UNKNOWN: storage offline'),
    });
    expect(server.calls()).toBe(3);
  });
});
