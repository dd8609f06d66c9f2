import net from 'node:net';

export interface CuttingProxy {
  /** `127.0.0.1:PORT`: use it as the registry host. */
  host: string;
  /** Bytes forwarded from clients to the target so far. */
  readonly bytesUp: number;
  /** How many connections were cut. */
  readonly cuts: number;
  /** How many connections were stalled. */
  readonly stalls: number;
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
  /**
   * Stall what the target sends back: a connection that carries more than
   * `bytes` further bytes towards the client forwards exactly `bytes`, then
   * keeps the socket open and forwards nothing more, as a registry or
   * middlebox that hangs mid-blob does. Each connection counts from the
   * first byte it carries after this call. `times` connections are stalled
   * (default 1; Infinity for every one from now on). With `request` (a
   * request line's start, `GET /v2/repo/blobs/`), only answers to such
   * requests are stalled, each counted from its first byte.
   */
  stallAfter(bytes: number, options?: { times?: number; request?: string }): void;
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
  let stalls = 0;
  // The armed stall: bytes each connection may still send to its client, and how many more connections to stall.
  let stall: { bytes: number; times: number; generation: number; request?: Buffer } | undefined;
  let generation = 0;
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
    // This connection's own budget under the armed stall, set at its first
    // byte after arming, or after each matching request when one is named.
    let down: { left: number; generation: number } | undefined;
    let stalled = false;
    const watchRequests = (chunk: Buffer) => {
      if (stall?.request && stall.times > 0 && chunk.includes(stall.request))
        down = { left: stall.bytes, generation: stall.generation };
    };
    upstream.on('data', (chunk: Buffer) => {
      if (stalled) return;
      if (stall && stall.times > 0 && !stall.request && down?.generation !== stall.generation)
        down = { left: stall.bytes, generation: stall.generation };
      if (
        down &&
        stall &&
        down.generation === stall.generation &&
        stall.times > 0 &&
        chunk.length > down.left
      ) {
        client.write(chunk.subarray(0, down.left));
        stalled = true;
        stalls++;
        stall.times--;
        return;
      }
      if (down) down.left -= chunk.length;
      client.write(chunk);
    });
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
      watchRequests(chunk);
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
    get stalls() {
      return stalls;
    },
    cutAfter(bytes) {
      budget = bytes;
    },
    cutBeforeRequest(method, occurrence = 1) {
      requestMarker = { marker: Buffer.from(`${method} /v2/`), skip: occurrence - 1 };
    },
    stallAfter(bytes, options = {}) {
      stall = {
        bytes,
        times: options.times ?? 1,
        generation: ++generation,
        ...(options.request ? { request: Buffer.from(options.request) } : {}),
      };
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
