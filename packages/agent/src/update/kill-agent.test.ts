import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { verifyBundle } from '@alki/bundler';
import { freePort } from '@alki/testkit';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  ALKI_BIN,
  startTestChannel,
  type PublishedBundle,
  type TestChannel,
} from '../__fixtures__/channel.js';
import { linuxProcessTable } from '../service/process-table.js';
import { agentPaths, slotDir } from '../slots/agent-paths.js';
import { readCurrentLink } from '../slots/current-link.js';
import { readState, type AgentState } from '../state/agent-state.js';

// kill -9 of a real `alki agent` process at random moments of an update, then
// a new agent on the same directory: every run must end with the device
// serving a whole, digest-checked bundle, with no stray files.
const RUNS = Number(process.env.ALKI_KILL_RUNS ?? 50);

let channel: TestChannel;
let dir: string;
let port: number;
/** Three healthy bundles: with two slots kept, moving the tag round them makes every update download. */
let bundles: PublishedBundle[];
let agent: ChildProcess | undefined;

function startAgent(): ChildProcess {
  const log = fs.openSync(path.join(dir, '..', 'agent.log'), 'a');
  // Polls five times a second, so that a kill lands while an update runs rather than between looks.
  const flags = {
    dir,
    port,
    host: '127.0.0.1',
    engine: 'llama-server',
    interval: 0.2,
    jitter: 0,
    retry: 0.2,
    'health-timeout': 90,
  };
  const child = spawn(
    process.execPath,
    [
      ALKI_BIN,
      'agent',
      `${channel.channel.registry}/${channel.channel.repository}:stable`,
      '--exec',
      '--serve-arg=--threads=1',
      ...Object.entries(flags).flatMap(([flag, value]) => [`--${flag}`, String(value)]),
    ],
    { stdio: ['ignore', log, log] },
  );
  fs.closeSync(log);
  return child;
}

async function killAgent(signal: NodeJS.Signals): Promise<void> {
  const child = agent;
  agent = undefined;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}

/** The `alki serve` processes started on this directory's slots (they outlive a killed agent), not their llama-server. */
async function servers(): Promise<number[]> {
  const slots = agentPaths(dir).slots;
  return (await linuxProcessTable.list())
    .filter(
      (entry) =>
        linuxProcessTable.alive(entry.pid) &&
        entry.args.includes('serve') &&
        entry.args.some((arg) => arg.startsWith(slots)),
    )
    .map((entry) => entry.pid);
}

async function healthy(): Promise<boolean> {
  return fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2_000) })
    .then(async (response) => {
      await response.arrayBuffer();
      return response.status === 200;
    })
    .catch(() => false);
}

/** Waits until the agent has looked at the channel and found `target`, with no update in progress and the server healthy. */
async function settled(target: string, since: number): Promise<AgentState> {
  const deadline = Date.now() + 240_000;
  for (;;) {
    const state = await readState(agentPaths(dir));
    if (
      state &&
      !state.update &&
      state.lastCheck?.digest === target &&
      Date.parse(state.lastCheck.at) >= since &&
      (await healthy())
    )
      return state;
    if (Date.now() > deadline)
      throw new Error(
        `Never settled on ${target}: ${JSON.stringify(state)}\n${fs.readFileSync(path.join(dir, '..', 'agent.log'), 'utf8').slice(-3000)}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * Everything under the agent directory that is not a slot, the link, the state, the lock or the server log. The
 * running agent rewrites state.json five times a second through a temp file named with its pid: one of those in
 * flight is its write, not a leftover; a killed agent's (another pid) is.
 */
function strayFiles(): string[] {
  const paths = agentPaths(dir);
  const expected = new Set([paths.slots, paths.current, paths.state, paths.lock, paths.serverLog]);
  const inFlight = new RegExp(`^\\..+\\.${agent?.pid ?? 'none'}-[0-9a-f]{8}\\.partial$`);
  const stray = fs
    .readdirSync(dir)
    .filter((name) => !inFlight.test(name))
    .map((name) => path.join(dir, name))
    .filter((file) => !expected.has(file));
  for (const name of fs.readdirSync(paths.slots))
    if (!/^sha256-[a-f0-9]{64}$/.test(name)) stray.push(path.join(paths.slots, name));
  for (const entry of fs.readdirSync(paths.slots, { recursive: true, withFileTypes: true }))
    if (/\.(partial|tmp)$|\.staging/.test(entry.name)) stray.push(path.join(entry.parentPath, entry.name));
  return stray;
}

beforeAll(async () => {
  channel = await startTestChannel();
  bundles = [channel.v1, channel.v2, await channel.publishDemo('Q4_0')];
  dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'alki-agent-kill-')), 'device');
  port = await freePort();
}, 300_000);

afterAll(async () => {
  await killAgent('SIGTERM');
  for (const pid of await servers()) process.kill(-pid, 'SIGKILL');
  await channel?.close();
  if (dir) fs.rmSync(path.dirname(dir), { recursive: true, force: true });
});

describe('kill -9 of alki agent during updates', () => {
  it(`leaves a device serving a verified bundle after each of ${RUNS} kills at random moments of download, switch and restart`, async () => {
    const started = performance.now();
    // The first install, unkilled, measures how long an update takes from the tag's move to a settled agent.
    let since = Date.now();
    await channel.moveTo(bundles[0].digest);
    agent = startAgent();
    await settled(bundles[0].digest, since);
    since = Date.now();
    const measureStart = performance.now();
    await channel.moveTo(bundles[1].digest);
    await settled(bundles[1].digest, since);
    const updateMs = performance.now() - measureStart;
    const moments: Record<string, number> = {};
    const outcomes: Record<string, number> = {};
    for (let run = 0; run < RUNS; run++) {
      const from = (await readState(agentPaths(dir)))!.current!.digest;
      const target = bundles[(run + 2) % bundles.length].digest;
      since = Date.now();
      await channel.moveTo(target);
      const killAfter = Math.random() * updateMs;
      await new Promise((resolve) => setTimeout(resolve, killAfter));
      const phase = (await readState(agentPaths(dir)))?.update?.phase ?? 'idle';
      await killAgent('SIGKILL');
      moments[phase] = (moments[phase] ?? 0) + 1;
      agent = startAgent();
      const state = await settled(target, since);
      const current = await readCurrentLink(agentPaths(dir));
      outcomes[current === target ? 'new' : 'old'] = (outcomes[current === target ? 'new' : 'old'] ?? 0) + 1;
      expect([from, target]).toContain(current);
      expect(state.current?.digest).toBe(current);
      const report = await verifyBundle(slotDir(agentPaths(dir), current!));
      expect([run, phase, report.ok, report.problems]).toEqual([run, phase, true, []]);
      // Exactly one server, on the current slot.
      expect((await servers()).length).toBe(1);
      expect([run, phase, strayFiles()]).toEqual([run, phase, []]);
      // state.json is whole JSON of the schema the agent writes.
      expect(JSON.parse(fs.readFileSync(agentPaths(dir).state, 'utf8'))).toMatchObject({ schema: 1 });
    }
    const totalS = Math.round((performance.now() - started) / 1000);
    process.stderr.write(
      `kill -9 x${RUNS}: update ${Math.round(updateMs)} ms, moments ${JSON.stringify(moments)}, ended on ${JSON.stringify(outcomes)}, total ${totalS} s, load ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}\n`,
    );
    expect(Object.values(moments).reduce((a, b) => a + b, 0)).toBe(RUNS);
  }, 3_600_000);
});
