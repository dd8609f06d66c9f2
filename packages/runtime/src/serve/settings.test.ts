import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { artifactPath, readBundle, systemdUnitPath } from '@alki/bundler';
import { tinyBundle, tinyModel } from '../test-support/models.js';
import { serveSettingsArgs } from './llama-server-args.js';
import { bundleSettings, resolveServeSettings } from './settings.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-runtime-settings-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('serve settings', () => {
  it('come from runtime.json for a bundle, and start llama-server exactly as its systemd unit does', async () => {
    const dir = await tinyBundle(work, 'bundle', ['Q8_0']);
    const bundle = await readBundle(dir);
    const settings = await resolveServeSettings(dir);
    expect(settings).toEqual({
      modelPath: path.join(bundle.dir, 'models', 'alki-tiny-llama-q8_0.gguf'),
      modelId: bundle.manifest.name,
      host: bundle.runtime.server.host,
      port: bundle.runtime.server.port,
      ctx: bundle.runtime.args.ctx,
      threads: bundle.runtime.args.threads,
      ngl: bundle.runtime.args.ngl,
      parallel: bundle.runtime.args.parallel,
    });
    const unit = fs.readFileSync(path.join(dir, systemdUnitPath(bundle.manifest.slug)), 'utf8');
    const execStart = unit.match(/^ExecStart=(\S+) (.*)$/m)![2].split(' ');
    const installed = execStart[execStart.indexOf('--model') + 1];
    expect(serveSettingsArgs(bundleSettings(bundle, { modelPath: installed }))).toEqual(execStart);
  }, 60_000);

  it('default to the file name, 127.0.0.1:8080 and the model context for a GGUF, with overrides winning', async () => {
    const file = await tinyModel();
    expect(await resolveServeSettings(file, { port: 9000 })).toEqual({
      modelPath: file,
      modelId: path.basename(file, '.gguf'),
      host: '127.0.0.1',
      port: 9000,
      ctx: 256,
      threads: 'auto',
      ngl: 'auto',
      parallel: 4,
    });
  });

  it('give a bundle written before runtime.json had `parallel` four slots, as llama-server would', async () => {
    const dir = await tinyBundle(work, 'old-bundle', ['Q8_0']);
    const bundle = await readBundle(dir);
    const oldArgs = { ...bundle.runtime.args };
    delete oldArgs.parallel;
    expect(bundleSettings({ ...bundle, runtime: { ...bundle.runtime, args: oldArgs } }).parallel).toBe(4);
  }, 60_000);

  it('refuse a target that does not exist', async () => {
    await expect(resolveServeSettings(path.join(work, 'missing.gguf'))).rejects.toMatchObject({
      code: 'TARGET_NOT_FOUND',
      category: 'input',
    });
  });

  it('refuse a bundle whose model is a link out of the bundle, as alki verify does', async () => {
    const dir = await tinyBundle(work, 'linked', ['Q8_0']);
    const bundle = await readBundle(dir);
    const model = path.join(dir, artifactPath(bundle.runtime.model));
    const outside = path.join(work, 'outside.gguf');
    fs.renameSync(model, outside);
    fs.symlinkSync(outside, model);
    await expect(resolveServeSettings(dir)).rejects.toMatchObject({
      code: 'PATH_ESCAPE',
      category: 'input',
      message: expect.stringContaining('is a symbolic link'),
    });
  }, 60_000);

  it('refuse a named pipe given as the model before opening it', async () => {
    const fifo = path.join(work, 'pipe.gguf');
    execFileSync('mkfifo', [fifo]);
    await expect(resolveServeSettings(fifo)).rejects.toMatchObject({ code: 'NOT_A_REGULAR_FILE' });
  });
});
