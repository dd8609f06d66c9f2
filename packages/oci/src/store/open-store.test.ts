import { afterAll, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openArtifactStore } from './open-store.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-open-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('openArtifactStore', () => {
  it('opens oci:DIR:tag and oci:DIR@digest as layouts', async () => {
    const layout = path.join(dir, 'layout');
    expect(await openArtifactStore(`oci:${layout}:v1.0.0`, { create: true })).toMatchObject({
      reference: 'v1.0.0',
      store: { description: `oci:${layout}` },
    });
    const digest = `sha256:${'a'.repeat(64)}`;
    expect((await openArtifactStore(`oci:${layout}@${digest}`)).reference).toBe(digest);
    expect((await openArtifactStore(`oci:${layout}`)).reference).toBeUndefined();
  });

  it('opens host/repo:tag as a registry repository without contacting it', async () => {
    const opened = await openArtifactStore('127.0.0.1:1/models/tiny:v1', {
      env: {},
      dockerConfigPath: path.join(dir, 'none.json'),
    });
    expect(opened.reference).toBe('v1');
    expect(opened.store.description).toBe('127.0.0.1:1/models/tiny');
  });

  it('reports a layout that does not exist', async () => {
    await expect(openArtifactStore(`oci:${path.join(dir, 'missing')}:v1`)).rejects.toMatchObject({
      code: 'NOT_FOUND',
      category: 'input',
    });
  });
});
