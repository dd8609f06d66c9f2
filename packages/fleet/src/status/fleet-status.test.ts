import { afterAll, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import net from 'node:net';
import { RUNTIME_IMAGE } from '../__fixtures__/fleets.js';
import { resolveInventory } from '../inventory/inventory.js';
import { parseFleet } from '../inventory/parse-fleet.js';
import { fleetStatus } from './fleet-status.js';

const DIGEST = `sha256:${'d'.repeat(64)}`;

// Small stand-ins for devices, on real sockets: one that answers like a
// plan's llama-server, one that fails its first connection attempt, one that
// accepts connections and never answers.
const servers: Array<http.Server | net.Server> = [];
// Every accepted socket, so the silent server's held connections can be cut and close() can finish.
const sockets = new Set<net.Socket>();
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  for (const server of servers) await new Promise((resolve) => server.close(resolve));
});

async function listen(server: http.Server | net.Server): Promise<number> {
  servers.push(server);
  server.on('connection', (socket: net.Socket) => sockets.add(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

function device(options: { requests: () => number; healthStatus?: number; dropFirst?: number }) {
  let dropped = 0;
  const server = http.createServer((request, response) => {
    if (dropped < (options.dropFirst ?? 0)) {
      dropped++;
      request.socket.destroy();
      return;
    }
    if (request.url === '/health')
      return void response.writeHead(options.healthStatus ?? 200).end('{"status":"ok"}');
    if (request.url === '/v1/models')
      return void response.end(JSON.stringify({ object: 'list', data: [{ id: `qwen3@${DIGEST}` }] }));
    const n = options.requests();
    response.end(
      [
        '# TYPE alki_requests_total counter',
        `alki_requests_total{route="/v1/chat/completions",status="200"} ${n}`,
        `alki_requests_total{route="/health",status="200"} 1000`,
        `alki_request_errors_total{route="/v1/chat/completions",code="x"} ${Math.floor(n / 10)}`,
        'alki_requests_in_flight 2',
        `llamacpp:tokens_predicted_total ${n * 8}`,
        `llamacpp:tokens_predicted_seconds_total ${n * 0.4}`,
        '',
      ].join('\n'),
    );
  });
  return server;
}

function fleet(ports: Record<string, number>): string {
  return `apiVersion: alki.dev/v1
kind: Fleet
name: shop
runtime: { image: ${RUNTIME_IMAGE} }
groups:
  - name: kiosks
    hardware: { deviceClass: rpi5 }
    reach: { systemd: {} }
    devices:
${Object.entries(ports)
  .map(([name, port]) => `      - { name: ${name}, endpoint: "http://127.0.0.1:${port}" }`)
  .join('\n')}
      - no-address
`;
}

describe('fleetStatus', () => {
  it('reports health, the digest in the model name, and rates; unreachable devices are listed, not fatal', async () => {
    let served = 100;
    const busy = await listen(device({ requests: () => (served += 20) }));
    const flaky = await listen(device({ requests: () => 5, dropFirst: 1 }));
    const loading = await listen(device({ requests: () => 0, healthStatus: 503 }));
    const silent = await listen(net.createServer(() => undefined));
    const closed = await listen(net.createServer());
    servers.pop()?.close();
    const inventory = resolveInventory(
      parseFleet(fleet({ busy, flaky, loading, silent, closed }), 'shop.yaml'),
    );
    const progress: Array<[number, number]> = [];
    const status = await fleetStatus(inventory, {
      intervalMs: 200,
      timeoutMs: 500,
      retries: 1,
      concurrency: 2,
      planned: new Map([
        ['busy', DIGEST],
        ['flaky', `sha256:${'e'.repeat(64)}`],
      ]),
      onProgress: (done, total) => progress.push([done, total]),
    });
    const byName = new Map(status.devices.map((d) => [d.device, d]));
    expect(byName.get('busy')).toMatchObject({
      state: 'healthy',
      model: `qwen3@${DIGEST}`,
      digest: DIGEST,
      inFlight: 2,
      rates: { errorRatio: 0.1, generationTokensPerSecond: 20 },
    });
    expect(byName.get('busy')?.rates?.requestsPerSecond).toBeGreaterThan(0);
    // The first connection was dropped; the retry got through.
    expect(byName.get('flaky')).toMatchObject({
      state: 'healthy',
      digest: DIGEST,
      rates: { requestsPerSecond: 0 },
    });
    expect(byName.get('loading')).toMatchObject({
      state: 'unhealthy',
      healthStatus: 503,
      problem: '/health answered 503',
    });
    expect(byName.get('silent')).toMatchObject({ state: 'unreachable', problem: 'no answer within 500 ms' });
    expect(byName.get('closed')).toMatchObject({ state: 'unreachable', problem: 'connection refused' });
    expect(byName.get('no-address')).toMatchObject({ state: 'no-endpoint' });
    expect(status.counts).toEqual({ healthy: 2, unhealthy: 1, unreachable: 2, 'no-endpoint': 1 });
    expect(status.digests).toEqual({ [DIGEST]: 3 });
    expect(status.offPlan).toEqual(['flaky']);
    // Five devices answer or not, then the three whose /metrics answered are scraped again.
    expect(progress.at(-1)).toEqual([8, 8]);
  });

  it('never has more requests in flight than its concurrency', async () => {
    let open = 0;
    let most = 0;
    const ports: Record<string, number> = {};
    for (let i = 0; i < 6; i++) {
      const server = http.createServer((_request, response) => {
        open++;
        most = Math.max(most, open);
        setTimeout(() => {
          open--;
          response.end('{}');
        }, 30);
      });
      ports[`d${i}`] = await listen(server);
    }
    const inventory = resolveInventory(parseFleet(fleet(ports), 'shop.yaml'));
    await fleetStatus(inventory, { intervalMs: 0, concurrency: 2 });
    expect(most).toBe(2);
  });
});
