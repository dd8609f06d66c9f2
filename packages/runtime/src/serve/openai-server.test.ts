import net from 'node:net';
import { describe, expect, it } from '@jest/globals';
import type { Engine } from './engine.js';
import { startOpenAiServer } from './openai-server.js';

// An engine that answers at once: these tests are about the HTTP server.
const engine: Engine = {
  name: 'test',
  modelId: 'test-model',
  contextSize: 256,
  generate: async () => ({ text: 'hi', promptTokens: 1, completionTokens: 1, finishReason: 'stop' }),
  close: async () => undefined,
};

/** Sends one request on the socket and reads its whole answer (headers and Content-Length body). */
function exchange(socket: net.Socket, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = '';
    const onData = (chunk: Buffer) => {
      received += chunk.toString('latin1');
      const end = received.indexOf('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(received)?.[1];
      if (end >= 0 && length !== undefined && received.length >= end + 4 + Number(length)) {
        socket.off('data', onData);
        socket.off('close', onClose);
        resolve(received);
      }
    };
    const onClose = () =>
      reject(new Error(`the server closed the connection; received: ${JSON.stringify(received)}`));
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.write(request);
  });
}

describe('the serving front', () => {
  it('keeps an idle connection open past the 5 s after which clients stop reusing one', async () => {
    const server = await startOpenAiServer({ engine, port: 0 });
    const socket = net.connect(server.port, '127.0.0.1');
    try {
      await new Promise((resolve) => socket.once('connect', resolve));
      const health = 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
      expect(await exchange(socket, health)).toMatch(/^HTTP\/1\.1 200 /);
      // Node's default would have closed it at 5 s.
      await new Promise((resolve) => setTimeout(resolve, 6000));
      expect(await exchange(socket, health)).toMatch(/^HTTP\/1\.1 200 /);
      // Shutting down does not wait for the idle connection.
      const started = Date.now();
      await server.close();
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      socket.destroy();
    }
  }, 20_000);
});
