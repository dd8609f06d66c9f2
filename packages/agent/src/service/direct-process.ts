import { spawn as nodeSpawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { AgentError } from '../errors.js';
import { digestOfSlot } from '../slots/agent-paths.js';
import { linuxProcessTable, type ProcessTable } from './process-table.js';
import { bundleServerUrl, type ServedSlot, type ServiceManager } from './service-manager.js';

export interface DirectProcessOptions {
  /** The command that serves a bundle directory, which is appended to it: `[node, alki.js, 'serve']`. */
  command: string[];
  /** Arguments after the bundle directory, such as `--host 0.0.0.0`. */
  args?: string[];
  /** Serve on this port (passed as `--port`) instead of the one in the bundle's runtime.json. */
  port?: number;
  /** The agent's slots directory: a process with an argument inside it is one of this agent's servers. */
  slotsDir: string;
  /** The server's stdout and stderr are appended here: a file, so the server outlives a killed agent. */
  logFile: string;
  env?: NodeJS.ProcessEnv;
  /** How long a server may take to stop after SIGTERM before it gets SIGKILL. Default 30 s. */
  stopTimeoutMs?: number;
  spawn?: typeof nodeSpawn;
  processes?: ProcessTable;
}

const POLL_MS = 50;

/**
 * Runs the model server as a process the agent supervises (`alki agent
 * --exec`). Servers are started in their own process group with output to a
 * file, so a kill -9 of the agent leaves the server serving; the next agent
 * finds it in the process table by its slot argument and adopts it instead
 * of starting a second one. A server that exits on its own is reported to
 * the agent, which decides what to do.
 *
 * @example
 * const service = new DirectProcessManager({ command: [process.execPath, 'bin/alki.js', 'serve'], slotsDir, logFile });
 */
export class DirectProcessManager implements ServiceManager {
  readonly description: string;
  private readonly processes: ProcessTable;
  private readonly spawn: typeof nodeSpawn;
  private tracked: { pid: number; dir: string } | undefined;
  private stopping = new Set<number>();
  private listener: ((reason: string) => void) | undefined;
  private watch: NodeJS.Timeout | undefined;

  constructor(private readonly options: DirectProcessOptions) {
    this.processes = options.processes ?? linuxProcessTable;
    this.spawn = options.spawn ?? nodeSpawn;
    this.description = `${path.basename(options.command.at(-1) ?? 'server')} (supervised by the agent)`;
  }

  url(slot: ServedSlot): Promise<string> {
    return bundleServerUrl(slot.dir, this.options.port);
  }

  onUnexpectedExit(listener: (reason: string) => void): void {
    this.listener = listener;
  }

  async ensure(slot: ServedSlot): Promise<'running' | 'started'> {
    const servers = await this.ourServers();
    const serving = servers.find((server) => server.args.includes(slot.dir));
    for (const other of servers) if (other !== serving) await this.stopProcess(other.pid);
    if (serving) {
      this.track(serving.pid, slot.dir);
      return 'running';
    }
    await this.start(slot);
    return 'started';
  }

  async restart(slot: ServedSlot): Promise<void> {
    for (const server of await this.ourServers()) await this.stopProcess(server.pid);
    await this.start(slot);
  }

  async close(): Promise<void> {
    for (const server of await this.ourServers()) await this.stopProcess(server.pid);
    this.untrack();
  }

  // Every process with a slot directory itself as an argument: ours, even
  // when an earlier agent started it. The processes a server starts in turn
  // (llama-server, given a model file inside the slot) are its own to stop.
  private async ourServers() {
    const slots = path.resolve(this.options.slotsDir);
    return (await this.processes.list()).filter(
      (entry) =>
        entry.pid !== process.pid &&
        this.processes.alive(entry.pid) &&
        entry.args.some(
          (arg) => path.dirname(arg) === slots && digestOfSlot(path.basename(arg)) !== undefined,
        ),
    );
  }

  private async start(slot: ServedSlot): Promise<void> {
    const [command, ...base] = this.options.command;
    const args = [
      ...base,
      slot.dir,
      ...(this.options.port !== undefined ? ['--port', String(this.options.port)] : []),
      ...(this.options.args ?? []),
    ];
    const out = fs.openSync(this.options.logFile, 'a');
    try {
      const child = this.spawn(command, args, {
        detached: true,
        stdio: ['ignore', out, out],
        env: this.options.env ?? process.env,
      });
      const pid = await new Promise<number>((resolve, reject) => {
        child.once('spawn', () => resolve(child.pid as number));
        child.once('error', (error) =>
          reject(
            new AgentError('SERVICE_FAILED', `Could not start ${command}: ${error.message}.`, {
              cause: error,
              hint: 'Check the --exec command and that it is installed.',
              details: { command, args },
            }),
          ),
        );
      });
      // Reaps our own child; adopted ones are watched by polling.
      child.once('exit', () => undefined);
      this.track(pid, slot.dir);
    } finally {
      fs.closeSync(out);
    }
  }

  private track(pid: number, dir: string): void {
    this.untrack();
    this.tracked = { pid, dir };
    this.watch = setInterval(() => {
      if (!this.tracked || this.processes.alive(this.tracked.pid)) return;
      const gone = this.tracked;
      this.untrack();
      if (!this.stopping.has(gone.pid))
        this.listener?.(`the server (pid ${gone.pid}) for ${gone.dir} exited`);
    }, 500);
    this.watch.unref();
  }

  private untrack(): void {
    if (this.watch) clearInterval(this.watch);
    this.watch = undefined;
    this.tracked = undefined;
  }

  private async stopProcess(pid: number): Promise<void> {
    this.stopping.add(pid);
    try {
      this.processes.signal(pid, 'SIGTERM');
      const deadline = Date.now() + (this.options.stopTimeoutMs ?? 30_000);
      while (this.processes.alive(pid) && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      if (this.processes.alive(pid)) {
        // The whole process group: a server killed alone would leave its llama-server holding the port.
        this.processes.signal(-pid, 'SIGKILL');
        while (this.processes.alive(pid)) await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
      if (this.tracked?.pid === pid) this.untrack();
    } finally {
      this.stopping.delete(pid);
    }
  }
}
