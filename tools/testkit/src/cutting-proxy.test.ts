import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startCuttingProxy, type CuttingProxy } from './cutting-proxy.js';

describe('startCuttingProxy', () => {
  let target: http.Server;
  let proxy: CuttingProxy;
  const received: number[] = [];
  beforeAll(async () => {
    target = http.createServer((request, response) => {
      let length = 0;
      request.on('data', (chunk: Buffer) => (length += chunk.length));
      request.on('end', () => {
        received.push(length);
        if (request.url === '/big') response.end(Buffer.alloc(200_000, 7));
        else response.end(`got ${length}`);
      });
      request.on('error', () => received.push(length));
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    proxy = await startCuttingProxy(`127.0.0.1:${(target.address() as AddressInfo).port}`);
  });
  afterAll(async () => {
    await proxy?.stop();
    target.closeAllConnections();
    await new Promise((resolve) => target.close(resolve));
  });

  it('forwards requests and answers both ways', async () => {
    const response = await fetch(`http://${proxy.host}/v2/`, { method: 'POST', body: Buffer.alloc(1000) });
    expect(await response.text()).toBe('got 1000');
  });

  it('cuts a request body after the armed number of bytes, once, and the client sees a broken connection', async () => {
    proxy.cutAfter(50_000);
    await expect(
      fetch(`http://${proxy.host}/v2/x`, { method: 'PATCH', body: Buffer.alloc(200_000) }),
    ).rejects.toThrow();
    expect(proxy.cuts).toBe(1);
    const response = await fetch(`http://${proxy.host}/v2/`, { method: 'POST', body: Buffer.alloc(200_000) });
    expect(await response.text()).toBe('got 200000');
  });

  it('cuts before the n-th request with a method reaches the target', async () => {
    const before = received.length;
    proxy.cutBeforeRequest('PATCH', 2);
    expect((await fetch(`http://${proxy.host}/v2/a`, { method: 'PATCH', body: 'one' })).status).toBe(200);
    await expect(fetch(`http://${proxy.host}/v2/b`, { method: 'PATCH', body: 'two' })).rejects.toThrow();
    expect(received.slice(before)).toEqual([3]);
  });

  it('stalls a response after the armed number of bytes, keeping the socket open, once', async () => {
    proxy.stallAfter(50_000);
    const response = await fetch(`http://${proxy.host}/big`);
    const reader = response.body!.getReader() as ReadableStreamDefaultReader<Uint8Array>;
    let got = 0;
    for (;;) {
      const next = await Promise.race([
        reader.read(),
        new Promise<'stalled'>((resolve) => setTimeout(() => resolve('stalled'), 500)),
      ]);
      if (next === 'stalled') break;
      if (next.done) throw new Error('the response ended instead of stalling');
      got += next.value.length;
    }
    await reader.cancel();
    expect(got).toBeLessThan(50_000);
    expect(proxy.stalls).toBe(1);
    const again = await fetch(`http://${proxy.host}/big`);
    expect((await again.arrayBuffer()).byteLength).toBe(200_000);
  });

  it('stalls only the answers to the named requests', async () => {
    const before = proxy.stalls;
    proxy.stallAfter(10_000, { request: 'GET /big' });
    expect(
      await (await fetch(`http://${proxy.host}/v2/`, { method: 'POST', body: Buffer.alloc(20_000) })).text(),
    ).toBe('got 20000');
    const response = await fetch(`http://${proxy.host}/big`);
    await expect(
      Promise.race([
        response.arrayBuffer(),
        new Promise((_resolve, reject) => setTimeout(() => reject(new Error('stalled')), 500)),
      ]),
    ).rejects.toThrow('stalled');
    await response.body?.cancel().catch(() => undefined);
    expect(proxy.stalls - before).toBe(1);
  });
});
