import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { parseAgentStatus, readAgentStatus } from './agent-status.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const NEXT = `sha256:${'b'.repeat(64)}`;

// A state file as @alki/agent writes it, in the middle of an update.
const STATE = {
  schema: 1,
  channel: '127.0.0.1:5000/models/demo:stable',
  current: { digest: DIGEST, name: 'demo', version: '1.0.0' },
  healthy: [DIGEST],
  denied: [],
  update: { digest: NEXT, from: DIGEST, phase: 'download', started: '2026-12-05T09:00:00.000Z' },
  lastCheck: { at: '2026-12-05T09:00:00.000Z', digest: NEXT, outcome: 'up-to-date' },
  lastError: { at: '2026-12-05T08:00:00.000Z', code: 'NO_SPACE', message: 'The disk is full.' },
};

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-agent-status-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('parseAgentStatus', () => {
  it('reads the current digest, last check, last error and the update in progress', () => {
    expect(parseAgentStatus(JSON.stringify(STATE))).toEqual({
      status: 'ok',
      channel: STATE.channel,
      current: { digest: DIGEST, name: 'demo', version: '1.0.0' },
      lastCheck: { at: STATE.lastCheck.at, digest: NEXT, outcome: 'up-to-date' },
      lastError: STATE.lastError,
      update: { digest: NEXT, phase: 'download', started: STATE.update.started },
    });
  });

  it('drops fields of the wrong shape and keeps the rest', () => {
    const status = parseAgentStatus(
      JSON.stringify({ ...STATE, current: { digest: 7 }, lastError: 'disk full', update: null }),
    );
    expect(status).toEqual({
      status: 'ok',
      channel: STATE.channel,
      lastCheck: { at: STATE.lastCheck.at, digest: NEXT, outcome: 'up-to-date' },
    });
  });

  it('calls a half-written file, another schema or a non-object unreadable', () => {
    const text = JSON.stringify(STATE);
    expect(parseAgentStatus(text.slice(0, text.length / 2))).toEqual({ status: 'unreadable' });
    expect(parseAgentStatus(JSON.stringify({ ...STATE, schema: 2 }))).toEqual({ status: 'unreadable' });
    expect(parseAgentStatus('[1]')).toEqual({ status: 'unreadable' });
  });
});

describe('readAgentStatus', () => {
  it('reads a state file from the disk', async () => {
    const file = path.join(work, 'state.json');
    fs.writeFileSync(file, JSON.stringify(STATE));
    expect((await readAgentStatus(file)).current?.digest).toBe(DIGEST);
  });

  it('says missing for a file not written yet and unreadable for a directory, without throwing', async () => {
    expect(await readAgentStatus(path.join(work, 'none.json'))).toEqual({ status: 'missing' });
    expect(await readAgentStatus(work)).toEqual({ status: 'unreadable' });
  });

  it('does not parse a file far larger than a state file', async () => {
    const file = path.join(work, 'huge.json');
    fs.writeFileSync(file, JSON.stringify({ ...STATE, padding: 'x'.repeat(2 * 1024 * 1024) }));
    expect(await readAgentStatus(file)).toEqual({ status: 'unreadable' });
  });
});
