import net from 'node:net';

export interface CuttingProxy {
  /** `127.0.0.1:PORT`: use it as the registry host. */
  host: string;
  /** Bytes forwarded from clients to the target so far. */
  readonly bytesUp: number;
  /** How many connections were cut. */
  readonly cuts: number;
  /**
   * Cut the next connection that carries more than `bytes` further bytes
   * upstream: forward exactly `bytes`, then destroy both sides, as a network
   * that drops mid-upload would. One cut per call.
   */
  cutAfter(bytes: number): void;
  /**
   * Cut the connection just before the `occurrence`-th next request with this
   * method (`PATCH /v2/...`) reaches the target, as a keep-alive connection
   * that died between two requests would. One cut per call.
   */
  cutBeforeRequest(method: string, occurrence?: number): void;
  stop(): Promise<void>;
}

/**
 * A TCP proxy on 127.0.0.1 in front of `target` (`host:port`) that can drop
 * a connection in the middle of a request body, for tests of resumed uploads.
 */
export async function startCuttingProxy(target: string): Promise<CuttingProxy> {
  const [targetHost, targetPort] = [
    target.slice(0, target.lastIndexOf(':')),
    Number(target.slice(target.lastIndexOf(':') + 1)),
  ];
  let bytesUp = 0;
  let cuts = 0;
  // Bytes still allowed through before the armed cut; undefined when disarmed.
  let budget: number | undefined;
  // The request line to cut before, and how many more of them to let through first.
  let requestMarker: { marker: Buffer; skip: number } | undefined;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, targetHost);
    sockets.add(client).add(upstream);
    const cleanup = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', cleanup).on('close', cleanup);
    upstream.on('error', cleanup).on('close', cleanup);
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    const cut = (allowed: Buffer) => {
      bytesUp += allowed.length;
      cuts++;
      upstream.write(allowed, () => {
        // resetAndDestroy sends RST, as a dropped network path looks to the client.
        client.resetAndDestroy();
        upstream.destroy();
      });
    };
    client.on('data', (chunk: Buffer) => {
      if (requestMarker) {
        // A request line inside random body bytes is a 2^-64 accident, so a plain search is enough here.
        let at = chunk.indexOf(requestMarker.marker);
        while (at >= 0 && requestMarker.skip > 0) {
          requestMarker.skip--;
          at = chunk.indexOf(requestMarker.marker, at + 1);
        }
        if (at >= 0) {
          requestMarker = undefined;
          cut(chunk.subarray(0, at));
          return;
        }
      }
      if (budget !== undefined && chunk.length > budget) {
        const allowed = chunk.subarray(0, budget);
        budget = undefined;
        cut(allowed);
        return;
      }
      if (budget !== undefined) budget -= chunk.length;
      bytesUp += chunk.length;
      upstream.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    get bytesUp() {
      return bytesUp;
    },
    get cuts() {
      return cuts;
    },
    cutAfter(bytes) {
      budget = bytes;
    },
    cutBeforeRequest(method, occurrence = 1) {
      requestMarker = { marker: Buffer.from(`${method} /v2/`), skip: occurrence - 1 };
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
