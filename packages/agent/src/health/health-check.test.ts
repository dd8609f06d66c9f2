import { afterEach, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkHealth } from './health-check.js';

let server: http.Server | undefined;

afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

/** A server on 127.0.0.1 answering /health and /v1/chat/completions as told. */
async function serve(
  handler: (request: http.IncomingMessage, response: http.ServerResponse) => void,
): Promise<string> {
  server = http.createServer(handler);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const completion = JSON.stringify({
  choices: [{ message: { role: 'assistant', content: 'Hi' } }],
  usage: { completion_tokens: 2 },
});

describe('checkHealth', () => {
  it('waits through a loading server (503) and passes once it answers /health and generates', async () => {
    let polls = 0;
    const url = await serve((request, response) => {
      if (request.url === '/health') {
        polls++;
        response.writeHead(polls < 3 ? 503 : 200).end();
      } else response.writeHead(200, { 'content-type': 'application/json' }).end(completion);
    });
    const result = await checkHealth({ url, deadlineMs: 10_000, pollMs: 20 });
    expect(polls).toBe(3);
    expect(result.completionTokens).toBe(2);
    expect(result.totalMs).toBeGreaterThanOrEqual(result.healthyAfterMs);
  });

  it('fails a server that loads but cannot generate, without waiting for the deadline', async () => {
    const url = await serve((request, response) => {
      if (request.url === '/health') response.writeHead(200).end();
      else response.writeHead(500).end('{"error":"decode failed"}');
    });
    const started = performance.now();
    await expect(checkHealth({ url, deadlineMs: 30_000 })).rejects.toMatchObject({
      code: 'HEALTH_CHECK_FAILED',
      message: expect.stringContaining('a completion answered 500: {"error":"decode failed"}'),
    });
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('presents the API key on /health and on the completion when it has one', async () => {
    const seen: Array<[string | undefined, string | undefined]> = [];
    const url = await serve((request, response) => {
      seen.push([request.url, request.headers.authorization]);
      if (request.headers.authorization !== 'Bearer k-123') response.writeHead(401).end();
      else if (request.url === '/health') response.writeHead(200).end();
      else response.writeHead(200, { 'content-type': 'application/json' }).end(completion);
    });
    await expect(checkHealth({ url, deadlineMs: 5_000, apiKey: 'k-123' })).resolves.toMatchObject({
      completionTokens: 2,
    });
    expect(seen).toEqual([
      ['/health', 'Bearer k-123'],
      ['/v1/chat/completions', 'Bearer k-123'],
    ]);
    // Without it, a server that wants one fails the check, naming the 401.
    await expect(checkHealth({ url, deadlineMs: 300, pollMs: 20 })).rejects.toThrow('/health answered 401');
  });

  it('fails a completion that comes back without generated text', async () => {
    const url = await serve((request, response) => {
      if (request.url === '/health') response.writeHead(200).end();
      else response.writeHead(200).end(JSON.stringify({ choices: [], usage: { completion_tokens: 0 } }));
    });
    await expect(checkHealth({ url, deadlineMs: 5_000 })).rejects.toThrow(
      'a completion came back without generated text',
    );
  });

  it('fails at the deadline when /health never answers 200, naming the last answer', async () => {
    const url = await serve((_request, response) => response.writeHead(503).end());
    await expect(checkHealth({ url, deadlineMs: 300, pollMs: 20 })).rejects.toThrow(
      /failed its health check: \/health answered 503 within 0.3 s/,
    );
  });

  it('fails at once when the server is gone, before the deadline', async () => {
    const started = performance.now();
    await expect(
      checkHealth({
        url: 'http://127.0.0.1:9',
        deadlineMs: 60_000,
        gone: () => 'the server (pid 42) exited',
      }),
    ).rejects.toThrow('failed its health check: the server (pid 42) exited');
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
