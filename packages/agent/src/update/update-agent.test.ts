import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { freePort } from '@alki/testkit';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestChannel, serveWithAlki, type TestChannel } from '../__fixtures__/channel.js';
import { linuxProcessTable } from '../service/process-table.js';
import { agentPaths, slotDir } from '../slots/agent-paths.js';
import { readCurrentLink } from '../slots/current-link.js';
import { readState } from '../state/agent-state.js';
import { UpdateAgent, type AgentEvent } from './update-agent.js';

let channel: TestChannel;
let dir: string;
let port: number;
let agent: UpdateAgent;
const events: AgentEvent[] = [];

beforeAll(async () => {
  channel = await startTestChannel();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-agent-'));
  port = await freePort();
  agent = new UpdateAgent({
    channel: channel.channel,
    client: channel.client,
    dir,
    service: serveWithAlki(dir, port),
    healthTimeoutMs: 90_000,
    log: (event) => events.push(event),
  });
}, 180_000);

afterAll(async () => {
  if (process.env.ALKI_AGENT_TEST_LOG)
    fs.writeFileSync(
      process.env.ALKI_AGENT_TEST_LOG,
      events.map((e) => `${e.decision}: ${e.message}`).join('\n'),
    );
  await agent?.stop();
  await channel?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** A check's outcome, with the agent's last error beside it so that a failure says why. */
async function check(): Promise<{ outcome: string; error?: string }> {
  const outcome = await agent.check();
  const error = (await readState(agentPaths(dir)))?.lastError?.message;
  return outcome === 'updated' || !error ? { outcome } : { outcome, error };
}

/** The slot directories the running `alki serve` processes were started on. */
async function servedSlots(): Promise<string[]> {
  const slots = agentPaths(dir).slots;
  return (await linuxProcessTable.list())
    .filter((entry) => linuxProcessTable.alive(entry.pid) && entry.args.includes('serve'))
    .flatMap((entry) => entry.args.filter((arg) => path.dirname(arg) === slots));
}

/**
 * Polls /health every 20 ms until stopped, and returns the longest stretch
 * in which it did not answer 200: the time the device served nothing.
 */
function watchOutage(url: string): { stop(): Promise<{ longestMs: number; failures: number }> } {
  let running = true;
  let longestMs = 0;
  let failures = 0;
  const done = (async () => {
    let downSince: number | undefined;
    while (running) {
      const ok = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) })
        .then(async (response) => {
          await response.arrayBuffer();
          return response.status === 200;
        })
        .catch(() => false);
      const now = performance.now();
      if (ok) {
        if (downSince !== undefined) longestMs = Math.max(longestMs, now - downSince);
        downSince = undefined;
      } else {
        failures++;
        downSince ??= now;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return { longestMs: Math.round(longestMs), failures };
  })();
  return {
    stop() {
      running = false;
      return done;
    },
  };
}

describe('an agent following a channel tag in docker-registry, serving with alki serve', () => {
  it('installs what the tag names on its first check and serves it', async () => {
    await channel.moveTo(channel.v1.digest);
    // What an agent killed while switching or writing its state leaves: gone once the next one starts.
    const strays = ['.current.4242-0a1b2c3d.partial', '.state.json.4242-0a1b2c3d.partial'];
    fs.mkdirSync(dir, { recursive: true });
    for (const name of strays) fs.writeFileSync(path.join(dir, name), 'half');
    await agent.start();
    expect(fs.readdirSync(dir).filter((name) => strays.includes(name))).toEqual([]);
    expect(await check()).toEqual({ outcome: 'updated' });
    expect(await readCurrentLink(agentPaths(dir))).toBe(channel.v1.digest);
    expect(await servedSlots()).toEqual([slotDir(agentPaths(dir), channel.v1.digest)]);
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    expect(health.status).toBe(200);
    const state = await readState(agentPaths(dir));
    expect(state?.current?.digest).toBe(channel.v1.digest);
    expect(state?.lastCheck?.outcome).toBe('updated');
    expect(state?.update).toBeUndefined();
  }, 180_000);

  it('picks up v2 when the tag moves, verifies it, switches and health-checks it', async () => {
    await channel.moveTo(channel.v2.digest);
    expect(await check()).toEqual({ outcome: 'updated' });
    expect(await readCurrentLink(agentPaths(dir))).toBe(channel.v2.digest);
    expect(await servedSlots()).toEqual([slotDir(agentPaths(dir), channel.v2.digest)]);
    const state = await readState(agentPaths(dir));
    expect(state?.current?.digest).toBe(channel.v2.digest);
    expect(state?.previous?.digest).toBe(channel.v1.digest);
    expect(state?.lastSwitch).toMatchObject({
      from: channel.v1.digest,
      to: channel.v2.digest,
      outcome: 'updated',
    });
    expect(state?.lastSwitch?.restartWindowMs).toBeGreaterThan(0);
    process.stderr.write(`restart window v1 -> v2: ${state?.lastSwitch?.restartWindowMs} ms\n`);
    expect(events.map((event) => event.decision)).toEqual(
      expect.arrayContaining(['check', 'download', 'switch', 'restart', 'healthy']),
    );
  }, 180_000);

  it('rolls a v3 that never gets healthy back to v2, serving v2 except for the restart window, and denies v3', async () => {
    await channel.moveTo(channel.v3.digest);
    const outage = watchOutage(`http://127.0.0.1:${port}`);
    const started = performance.now();
    const outcome = await agent.check();
    const tookMs = Math.round(performance.now() - started);
    const { longestMs, failures } = await outage.stop();
    expect(outcome).toBe('rolled-back');
    expect(await readCurrentLink(agentPaths(dir))).toBe(channel.v2.digest);
    expect(await servedSlots()).toEqual([slotDir(agentPaths(dir), channel.v2.digest)]);
    const state = await readState(agentPaths(dir));
    expect(state?.current?.digest).toBe(channel.v2.digest);
    expect(state?.denied.map((entry) => entry.digest)).toEqual([channel.v3.digest]);
    expect(state?.lastError?.code).toBe('HEALTH_CHECK_FAILED');
    expect(state?.lastSwitch).toMatchObject({
      from: channel.v3.digest,
      to: channel.v2.digest,
      outcome: 'rolled-back',
    });
    // The device answered nothing only while the servers were restarted: one stretch, not the whole check.
    expect(failures).toBeGreaterThan(0);
    expect(longestMs).toBeLessThan(tookMs);
    process.stderr.write(
      `rollback v3 -> v2: check took ${tookMs} ms, /health unanswered for ${longestMs} ms at most, agent's window ${state?.lastSwitch?.restartWindowMs} ms\n`,
    );
    expect(fs.readFileSync(agentPaths(dir).serverLog, 'utf8')).toMatch(/GGML_ASSERT|exited/);
  }, 240_000);

  it('skips the denied v3 while the tag names it, without touching the server', async () => {
    const before = await servedSlots();
    expect(await agent.check()).toBe('denied');
    expect(await servedSlots()).toEqual(before);
    expect(events.at(-1)?.decision).toBe('skip-denied');
  }, 60_000);

  it('forgets the denial once the tag names another bundle, and keeps at most two slots', async () => {
    await channel.moveTo(channel.v1.digest);
    expect(await check()).toEqual({ outcome: 'updated' });
    const state = await readState(agentPaths(dir));
    expect(state?.denied).toEqual([]);
    expect(state?.current?.digest).toBe(channel.v1.digest);
    const slots = fs.readdirSync(agentPaths(dir).slots).sort();
    expect(slots).toEqual(
      [channel.v1.digest, channel.v2.digest]
        .map((digest) => path.basename(slotDir(agentPaths(dir), digest)))
        .sort(),
    );
  }, 180_000);

  it('refuses an update that would not fit on the disk, keeps serving, and says how much is missing', async () => {
    const small = new UpdateAgent({
      channel: channel.channel,
      client: channel.client,
      dir,
      service: serveWithAlki(dir, port),
      // The injected probe: the disk has 1 MiB free.
      freeSpace: () => Promise.resolve(2 ** 20),
      log: (event) => events.push(event),
    });
    await agent.stop();
    await channel.moveTo(channel.v2.digest);
    // v2 is still in its slot: drop it so that the update must download.
    fs.rmSync(slotDir(agentPaths(dir), channel.v2.digest), { recursive: true });
    await small.start();
    try {
      expect(await small.check()).toBe('failed');
      const state = await readState(agentPaths(dir));
      expect(state?.lastError).toMatchObject({
        code: 'NO_SPACE',
        message: expect.stringMatching(
          /needs [\d.]+ MiB more .* but .* has 1\.0 MiB available; it was not downloaded/,
        ),
      });
      expect(state?.current?.digest).toBe(channel.v1.digest);
      expect(events.some((event) => event.decision === 'refuse')).toBe(true);
      expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
    } finally {
      await small.stop();
    }
  }, 180_000);
});
