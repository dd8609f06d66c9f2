import { describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writePlan } from './write-plan.js';

const FILES = [
  { path: 'plan.json', text: '{}\n' },
  { path: 'clusters/a/label-nodes.sh', text: '#!/bin/sh\n' },
];

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'alki-write-plan-'));
}

describe('writePlan', () => {
  it('writes the tree, scripts executable, and leaves no temp folder beside it', async () => {
    const root = tempDir();
    await writePlan(FILES, path.join(root, 'gitops'));
    expect(fs.readFileSync(path.join(root, 'gitops/plan.json'), 'utf8')).toBe('{}\n');
    expect(fs.statSync(path.join(root, 'gitops/clusters/a/label-nodes.sh')).mode & 0o777).toBe(0o755);
    expect(fs.readdirSync(root)).toEqual(['gitops']);
  });

  it('refuses to replace an existing folder without force', async () => {
    const root = tempDir();
    await writePlan(FILES, path.join(root, 'gitops'));
    await expect(writePlan(FILES, path.join(root, 'gitops'))).rejects.toMatchObject({
      code: 'OUTPUT_EXISTS',
      hint: 'Choose another -o, or pass --force to replace the previous plan there.',
    });
  });

  it('replaces a previous plan with force, dropping files the new plan no longer has', async () => {
    const root = tempDir();
    await writePlan(
      [...FILES, { path: 'groups/old/kustomization.yaml', text: 'x\n' }],
      path.join(root, 'gitops'),
    );
    await writePlan(FILES, path.join(root, 'gitops'), { force: true });
    expect(fs.existsSync(path.join(root, 'gitops/groups'))).toBe(false);
    expect(fs.readdirSync(root)).toEqual(['gitops']);
  });

  it('never replaces a folder that is not a previous plan, even with force', async () => {
    const root = tempDir();
    fs.writeFileSync(path.join(root, 'notes.txt'), 'mine');
    await expect(writePlan(FILES, root, { force: true })).rejects.toMatchObject({ code: 'OUTPUT_EXISTS' });
    expect(fs.readFileSync(path.join(root, 'notes.txt'), 'utf8')).toBe('mine');
  });

  it('leaves nothing behind when interrupted', async () => {
    const root = tempDir();
    const controller = new AbortController();
    controller.abort(new Error('interrupted'));
    await expect(writePlan(FILES, path.join(root, 'gitops'), { signal: controller.signal })).rejects.toThrow(
      'interrupted',
    );
    expect(fs.readdirSync(root)).toEqual([]);
  });
});
