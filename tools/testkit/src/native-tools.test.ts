import { afterAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openGguf, GgmlType } from '@alki/gguf-reader';
import { nativeTools } from './native-tools.js';
import { freePort, waitForHttp } from './ports.js';
import { startProcess, type RunningProcess } from './process.js';
import { cachedTinyLlamaGguf } from './tiny-gguf.js';

// The foundation's acceptance test for the native tools: they are built from
// the llama.cpp source that node-llama-cpp ships (or found in the cache), and
// both the quantizer and the server really run.
describe('native llama.cpp tools', () => {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-native-'));
  let server: RunningProcess | undefined;
  afterAll(async () => {
    await server?.stop();
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  it('are built (or found in the versioned cache) with all four programs', async () => {
    const tools = await nativeTools();
    for (const file of Object.values(tools.paths)) expect(fs.statSync(file).mode & 0o111).not.toBe(0);
    expect(tools.binDir).toContain(path.join('alki', 'llama.cpp', tools.tag));
  }, 900_000);

  it('llama-quantize turns a tiny F32 GGUF into a Q8_0 GGUF', async () => {
    const tools = await nativeTools();
    const tiny = await cachedTinyLlamaGguf();
    const output = path.join(workDir, 'tiny-q8_0.gguf');
    const result = spawnSync(tools.paths['llama-quantize'], [tiny.path, output, 'Q8_0', '1'], {
      encoding: 'utf8',
    });
    expect(result.status).toBe(0);
    const quantized = await openGguf(output);
    const types = new Set(quantized.tensors.filter((t) => t.dims.length === 2).map((t) => t.type));
    expect(types).toEqual(new Set([GgmlType.Q8_0]));
    expect(fs.statSync(output).size).toBeLessThan(fs.statSync(tiny.path).size / 2);
  });

  it('llama-server serves the model on 127.0.0.1 and answers /health with 200', async () => {
    const tools = await nativeTools();
    const tiny = await cachedTinyLlamaGguf();
    const port = await freePort();
    server = startProcess(tools.paths['llama-server'], [
      '-m',
      tiny.path,
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '-c',
      '256',
      '-t',
      '1',
      '--no-webui',
    ]);
    try {
      await waitForHttp(`http://127.0.0.1:${port}/health`, { timeoutMs: 60_000 });
    } catch (error) {
      throw new Error(`${String(error)}\nllama-server output:\n${server.output()}`);
    }
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    await server.stop();
    expect(server.child.exitCode !== null || server.child.signalCode !== null).toBe(true);
  }, 90_000);
});
