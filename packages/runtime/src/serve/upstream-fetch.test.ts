import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { fetchUpstream } from './upstream-fetch.js';

// A server that, like llama-server at the end of its keep-alive wait, closes
// a kept-alive connection when a second request arrives on it, without an
// answer. Fresh connections are answered.
describe('fetchUpstream against a server that closes kept-alive connections', () => {
  let server: http.Server;
  let url = '';
  const served = new WeakMap<object, number>();
  let answered = 0;
  let dropped = 0;

  beforeAll(async () => {
    server = http.createServer((request, response) => {
      const count = (served.get(request.socket) ?? 0) + 1;
      served.set(request.socket, count);
      if (count > 1) {
        dropped++;
        request.socket.destroy();
        return;
      }
      request.resume();
      request.on('end', () => {
        answered++;
        response.writeHead(200, { 'Content-Type': 'text/plain', 'Keep-Alive': 'timeout=5' });
        response.end('ok');
      });
    });
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chat/completions`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const post = { method: 'POST', body: '{"stream":true}', headers: { 'Content-Type': 'application/json' } };

  // Node's fetch keeps a pool of connections and may open a second one
  // before it reuses the first, so each side sends a few requests in a row.
  it('plain fetch fails once a connection is reused (the failure this guards against)', async () => {
    type FetchFailure = Error & { cause?: { code?: string } };
    const errors: FetchFailure[] = [];
    for (let i = 0; i < 5; i++) {
      await fetch(url, post).then(
        (response) => response.text(),
        (error: FetchFailure) => errors.push(error),
      );
    }
    expect(errors.length).toBeGreaterThan(0);
    for (const error of errors) {
      expect(error.message).toBe('fetch failed');
      expect(['UND_ERR_SOCKET', 'ECONNRESET']).toContain(error.cause?.code);
    }
  });

  it('asks again on a fresh connection and gets every answer', async () => {
    const before = { answered, dropped };
    for (let i = 0; i < 5; i++) expect(await (await fetchUpstream(url, post)).text()).toBe('ok');
    expect(answered - before.answered).toBe(5);
    // Some of them went down a connection the server then closed.
    expect(dropped - before.dropped).toBeGreaterThan(0);
  });

  it('does not ask again when the server refuses the connection', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    let calls = 0;
    const counting: typeof fetch = (input, init) => {
      calls++;
      return fetch(input, init);
    };
    const error = (await fetchUpstream(`http://127.0.0.1:${port}/`, post, counting).catch(
      (e: unknown) => e,
    )) as Error & { cause?: { code?: string } };
    expect(error.cause?.code).toBe('ECONNREFUSED');
    expect(calls).toBe(1);
  });
});

describe('fetchUpstream limits', () => {
  const stale = () =>
    new TypeError('fetch failed', {
      cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }),
    });

  it('gives up after three tries and throws the last failure', async () => {
    let calls = 0;
    const failing: typeof fetch = () => {
      calls++;
      return Promise.reject(stale());
    };
    await expect(fetchUpstream('http://127.0.0.1:1/', {}, failing)).rejects.toThrow('fetch failed');
    expect(calls).toBe(3);
  });

  it('does not ask again once the request is aborted', async () => {
    let calls = 0;
    const controller = new AbortController();
    const failing: typeof fetch = () => {
      calls++;
      controller.abort();
      return Promise.reject(stale());
    };
    await expect(
      fetchUpstream('http://127.0.0.1:1/', { signal: controller.signal }, failing),
    ).rejects.toThrow('fetch failed');
    expect(calls).toBe(1);
  });
});
