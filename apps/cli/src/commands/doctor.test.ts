import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { runCli } from '../test-support.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-doctor-cli-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('alki doctor', () => {
  it('prints one JSON check per thing the commands need, and exits 0 on a machine npm test provisioned', async () => {
    const { code, stdout } = await runCli(['doctor', '--json', '--out', dir]);
    const report = JSON.parse(stdout) as { ok: boolean; checks: Array<{ id: string; status: string }> };
    expect(report.checks.map((c) => c.id)).toEqual(
      expect.arrayContaining([
        'node',
        'llama.binding',
        'llama.tools',
        'containers.engine',
        'containers.init',
        'containers.runtime',
        'hub.token',
      ]),
    );
    expect(report.checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(code).toBe(0);
  }, 120_000);

  it('exits 1 with one line per check and the fix, when PATH has no container engine', async () => {
    const saved = process.env.PATH;
    process.env.PATH = dir;
    try {
      const { code, stdout } = await runCli(['doctor', '--for', 'image', '--out', dir]);
      expect(code).toBe(1);
      const lines = stdout.trim().split('\n');
      expect(lines.find((l) => l.includes('container engine'))).toMatch(
        /^FAIL\s+container engine\s+podman is not installed; docker is not installed; fix: sudo apt-get install podman runc catatonit/,
      );
      expect(lines.at(-1)).toMatch(/^\d+ ok, \d+ warnings, [1-9]\d* failed$/);
    } finally {
      process.env.PATH = saved;
    }
  }, 120_000);

  it('refuses a command name it does not know as a usage error', async () => {
    const { code, stderr } = await runCli(['doctor', '--for', 'fly']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/Invalid values/);
  });
});
