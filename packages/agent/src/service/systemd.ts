import { execFile } from 'node:child_process';
import { AgentError } from '../errors.js';
import { bundleServerUrl, type ServedSlot, type ServiceManager } from './service-manager.js';

/** Runs `systemctl` with arguments; injected in tests, where systemd does not run. */
export type SystemctlRunner = (args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>;

export const runSystemctl: SystemctlRunner = (args) =>
  new Promise((resolve) => {
    execFile('systemctl', args, { timeout: 600_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({
        code,
        stdout: String(stdout),
        stderr: String(stderr || (error && !stdout ? error.message : '')),
      });
    });
  });

export interface SystemdOptions {
  /** The unit that serves the bundle the `current` link names, such as `alki-qwen3.service`. */
  unit: string;
  /** The port health checks go to instead of the bundle's runtime.json port. */
  port?: number;
  run?: SystemctlRunner;
}

/**
 * A model server run by systemd: a unit whose ExecStart reads the bundle
 * through the agent's `current` link (for example `alki serve
 * /var/lib/alki/qwen3/current`). Restarting is `systemctl restart`, which
 * waits for the start job; systemd restarts a crashed server itself
 * (Restart=on-failure), so no exit is reported to the agent.
 *
 * @example
 * const service = new SystemdManager({ unit: 'alki-qwen3.service' });
 */
export class SystemdManager implements ServiceManager {
  readonly description: string;
  private readonly run: SystemctlRunner;

  constructor(private readonly options: SystemdOptions) {
    this.run = options.run ?? runSystemctl;
    this.description = `systemd unit ${options.unit}`;
  }

  url(slot: ServedSlot): Promise<string> {
    return bundleServerUrl(slot.dir, this.options.port);
  }

  async restart(): Promise<void> {
    await this.systemctl(['restart', this.options.unit]);
  }

  async ensure(): Promise<'running' | 'started'> {
    const state = await this.run(['is-active', this.options.unit]);
    if (state.stdout.trim() === 'active') return 'running';
    await this.systemctl(['start', this.options.unit]);
    return 'started';
  }

  onUnexpectedExit(): void {
    // systemd restarts the unit itself.
  }

  async close(): Promise<void> {
    // The unit is not the agent's to stop: it keeps serving while the agent is away.
  }

  private async systemctl(args: string[]): Promise<void> {
    const result = await this.run(args);
    if (result.code === 0) return;
    throw new AgentError(
      'SERVICE_FAILED',
      `systemctl ${args.join(' ')} failed (exit ${result.code}): ${result.stderr.trim() || result.stdout.trim()}`,
      {
        hint: `See \`systemctl status ${this.options.unit}\` and \`journalctl -u ${this.options.unit}\`.`,
        details: { unit: this.options.unit, code: result.code },
      },
    );
  }
}
