import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  ggufEntry,
  GgmlType,
  GgufValueType,
  layoutTensors,
  openGguf,
  readGguf,
  readTensorData,
  serializeGgufHeader,
} from '../index.js';
import { httpSource } from './http-source.js';

// A real HTTP server on 127.0.0.1 that serves one GGUF with Range support,
// checks a bearer token, and can be told to ignore Range.
interface Seen {
  range?: string;
  authorization?: string;
}

const vocabulary = Array.from({ length: 20_000 }, (_, i) => `token-${i}`);
const tensors = layoutTensors([{ name: 'w', type: GgmlType.F32, dims: [4] }]);
const header = serializeGgufHeader({
  metadata: [
    ggufEntry.string('general.architecture', 'llama'),
    ggufEntry.array('tokenizer.ggml.tokens', GgufValueType.STRING, vocabulary),
  ],
  tensors,
});
const gguf = new Uint8Array(header.length + 32);
gguf.set(header);
gguf.set(new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer), header.length);

let server: http.Server;
let base = '';
const seen: Seen[] = [];
let failuresLeft = 0;
const stalled: http.ServerResponse[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push({ range: req.headers.range, authorization: req.headers.authorization });
    if (req.url === '/private.gguf' && req.headers.authorization !== 'Bearer secret') {
      res.writeHead(401).end('unauthorized');
      return;
    }
    if (req.url === '/flaky.gguf' && failuresLeft > 0) {
      failuresLeft--;
      res.writeHead(503).end('busy');
      return;
    }
    if (req.url === '/drop.gguf') {
      // Promise a full range, send a little, then cut the connection.
      res.writeHead(206, { 'content-range': `bytes 0-65535/${gguf.length}`, 'content-length': 65536 });
      res.write(Buffer.from(gguf.subarray(0, 100)));
      setTimeout(() => res.destroy(), 10);
      return;
    }
    if (req.url === '/changing.gguf' && req.headers.range !== 'bytes=0-65535') {
      // After the first request, the server has a longer file.
      res.writeHead(206, { 'content-range': `bytes 65536-65537/${gguf.length + 10}`, 'content-length': 2 });
      res.end(Buffer.from([0, 0]));
      return;
    }
    if (req.url === '/stall-body.gguf' && req.headers.range?.startsWith('bytes=0-')) {
      // Answer the first range with its first 1000 bytes, then go quiet with the connection open.
      const end = Math.min(Number(/-(\d+)$/.exec(req.headers.range)![1]), gguf.length - 1);
      res.writeHead(206, { 'content-range': `bytes 0-${end}/${gguf.length}`, 'content-length': end + 1 });
      res.write(Buffer.from(gguf.subarray(0, 1000)));
      stalled.push(res);
      return;
    }
    if (req.url === '/stall-always.gguf') {
      // Never answer at all.
      stalled.push(res);
      return;
    }
    if (req.url === '/missing.gguf') {
      res.writeHead(404).end();
      return;
    }
    if (req.url === '/redirect.gguf') {
      res.writeHead(302, { location: '/model.gguf' }).end();
      return;
    }
    const match = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (!match || req.url === '/no-range.gguf') {
      res.writeHead(200, { 'content-length': gguf.length }).end(Buffer.from(gguf));
      return;
    }
    const start = Number(match[1]);
    const end = Math.min(Number(match[2]), gguf.length - 1);
    if (start >= gguf.length) {
      res.writeHead(416, { 'content-range': `bytes */${gguf.length}` }).end();
      return;
    }
    res.writeHead(206, {
      'content-range': `bytes ${start}-${end}/${gguf.length}`,
      'content-length': end - start + 1,
    });
    res.end(Buffer.from(gguf.subarray(start, end + 1)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(
  () =>
    new Promise<void>((resolve) => {
      for (const res of stalled) res.destroy();
      server.close(() => resolve());
    }),
);

describe('httpSource', () => {
  it('reads a header with range requests, never asking for the tensor data', async () => {
    seen.length = 0;
    const source = await httpSource(`${base}/model.gguf`);
    const file = await readGguf(source);
    expect(source.size).toBe(gguf.length);
    expect(file.metadata[1].value).toEqual({ itemType: GgufValueType.STRING, items: vocabulary });
    expect(seen.every((r) => r.range?.startsWith('bytes='))).toBe(true);
    // The header is about 330 KB: a 64 KiB probe, then growing reads.
    expect(seen.length).toBeLessThanOrEqual(4);
    const lastByteAsked = Math.max(...seen.map((r) => Number(/-(\d+)$/.exec(r.range!)![1])));
    expect(lastByteAsked).toBeLessThan(file.dataOffset + 32);
    expect(await readTensorData(source, file, file.tensors[0])).toEqual(
      gguf.subarray(file.dataOffset, file.dataOffset + 16),
    );
  });

  it('passes the authorization header through, and reports a refusal as a network error', async () => {
    seen.length = 0;
    const file = await openGguf(`${base}/private.gguf`, { headers: { authorization: 'Bearer secret' } });
    expect(file.tensors).toHaveLength(1);
    expect(seen.every((r) => r.authorization === 'Bearer secret')).toBe(true);
    await expect(openGguf(`${base}/private.gguf`)).rejects.toMatchObject({
      code: 'HTTP_ERROR',
      category: 'network',
      details: { status: 401 },
    });
  });

  it('follows redirects and reports a missing file as NOT_FOUND', async () => {
    expect((await openGguf(`${base}/redirect.gguf`)).tensors).toHaveLength(1);
    await expect(openGguf(`${base}/missing.gguf`)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('still works when the server ignores Range and sends a small file whole', async () => {
    const file = await openGguf(`${base}/no-range.gguf`);
    expect(file.fileSize).toBe(gguf.length);
  });

  it('reports an unreachable server as a network error', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await expect(openGguf(`http://127.0.0.1:${port}/x.gguf`)).rejects.toMatchObject({
      code: 'HTTP_ERROR',
      category: 'network',
    });
  });

  it('retries 5xx answers, then gives up with a network error', async () => {
    failuresLeft = 2;
    expect((await openGguf(`${base}/flaky.gguf`, { retryDelayMs: 1 })).tensors).toHaveLength(1);
    failuresLeft = 5;
    await expect(httpSource(`${base}/flaky.gguf`, { retryDelayMs: 1 })).rejects.toMatchObject({
      code: 'HTTP_ERROR',
      details: { status: 503 },
    });
    failuresLeft = 0;
  });

  it('turns a connection dropped mid-body into a typed network error', async () => {
    await expect(httpSource(`${base}/drop.gguf`, { retryDelayMs: 1 })).rejects.toMatchObject({
      code: 'HTTP_ERROR',
      category: 'network',
    });
  });

  it('cuts a response that stalls mid-body and resumes it with Range from the byte it reached', async () => {
    seen.length = 0;
    const started = Date.now();
    const file = await openGguf(`${base}/stall-body.gguf`, { idleTimeoutMs: 300, retryDelayMs: 1 });
    expect(file.metadata[1].value).toEqual({ itemType: GgufValueType.STRING, items: vocabulary });
    // The stalled first request, then the same read again from byte 1000.
    expect(seen.slice(0, 2).map((r) => r.range)).toEqual(['bytes=0-65535', 'bytes=1000-65535']);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('gives up on a server that never answers after its retries, with a typed network error', async () => {
    seen.length = 0;
    const started = Date.now();
    await expect(
      openGguf(`${base}/stall-always.gguf`, { idleTimeoutMs: 200, retries: 2, retryDelayMs: 1 }),
    ).rejects.toMatchObject({
      code: 'HTTP_ERROR',
      category: 'network',
      details: { reason: 'stalled', idleTimeoutMs: 200 },
      message: expect.stringMatching(/sent nothing for 0.2 s/),
    });
    // Three attempts of 200 ms each, not the 300 s a socket timeout would take.
    expect(seen).toHaveLength(3);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('stops at once when the caller aborts a stalled read', async () => {
    const controller = new AbortController();
    const reading = openGguf(`${base}/stall-always.gguf`, {
      signal: controller.signal,
      idleTimeoutMs: 60_000,
    });
    setTimeout(() => controller.abort(new Error('interrupted')), 100);
    await expect(reading).rejects.toThrow('interrupted');
  });

  it('notices a file replaced between two range requests', async () => {
    await expect(openGguf(`${base}/changing.gguf`)).rejects.toMatchObject({
      code: 'HTTP_ERROR',
      message: expect.stringMatching(/changed while/),
    });
  });

  it('uses an injected fetch', async () => {
    const urls: string[] = [];
    const fetchSpy: typeof fetch = (input, init) => {
      urls.push(new Request(input).url);
      return fetch(input, init);
    };
    await openGguf(`${base}/model.gguf`, { fetch: fetchSpy });
    expect(urls.length).toBeGreaterThan(0);
    expect(urls.every((u) => u === `${base}/model.gguf`)).toBe(true);
  });
});
