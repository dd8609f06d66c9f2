import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, waitForHttp } from './ports.js';
import { startProcess } from './process.js';
import { requireCommand } from './require-command.js';

export interface TestPrometheus {
  /** `http://127.0.0.1:PORT`. */
  url: string;
  /** The last lines Prometheus logged, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts Debian's prometheus on 127.0.0.1 with the configuration in
 * `configFile` (rule and file-discovery paths in it are relative to it) and
 * its TSDB in a temp dir, and waits until /-/ready answers.
 */
export async function startPrometheus(configFile: string): Promise<TestPrometheus> {
  const binary = requireCommand('prometheus', 'the Prometheus tests');
  const storage = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-prometheus-'));
  const port = await freePort();
  const service = startProcess(binary, [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${storage}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
  ]);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}/-/ready`, { timeoutMs: 30_000 });
  } catch (error) {
    await service.stop();
    throw new Error(`prometheus did not start: ${String(error)}\n${service.output()}`);
  }
  return {
    url,
    output: () => service.output(),
    async stop() {
      await service.stop();
      fs.rmSync(storage, { recursive: true, force: true });
    },
  };
}
