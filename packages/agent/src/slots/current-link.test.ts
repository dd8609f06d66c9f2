import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { agentPaths, slotDir, type AgentPaths } from './agent-paths.js';
import { readCurrentLink, switchCurrentLink } from './current-link.js';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;
let paths: AgentPaths;

beforeEach(() => {
  paths = agentPaths(fs.mkdtempSync(path.join(os.tmpdir(), 'alki-link-')));
  for (const digest of [A, B]) fs.mkdirSync(slotDir(paths, digest), { recursive: true });
});
afterEach(() => fs.rmSync(paths.root, { recursive: true, force: true }));

describe('the current link', () => {
  it('is absent on a fresh directory', async () => {
    expect(await readCurrentLink(paths)).toBeUndefined();
  });

  it('names the slot it was switched to, through a relative link, and leaves no temp link behind', async () => {
    await switchCurrentLink(paths, A);
    await switchCurrentLink(paths, B);
    expect(await readCurrentLink(paths)).toBe(B);
    expect(fs.readlinkSync(paths.current)).toBe(path.join('slots', `sha256-${'b'.repeat(64)}`));
    expect(fs.readdirSync(paths.root).sort()).toEqual(['current', 'slots']);
  });

  it('is replaced in one rename, so a reader never finds it missing', async () => {
    await switchCurrentLink(paths, A);
    let missing = 0;
    let reading = true;
    const reader = (async () => {
      while (reading) {
        if (!fs.existsSync(paths.current)) missing++;
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    for (let i = 0; i < 200; i++) await switchCurrentLink(paths, i % 2 ? A : B);
    reading = false;
    await reader;
    expect(missing).toBe(0);
  });
});
