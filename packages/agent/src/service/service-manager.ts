import { readBundle } from '@alki/bundler';

/** A bundle in its slot, as the service manager serves it. */
export interface ServedSlot {
  digest: string;
  /** The slot directory (the bundle), resolved: not the `current` link. */
  dir: string;
}

/**
 * What the agent needs from whatever runs the model server: a systemd unit
 * (SystemdManager) or a process it supervises itself (DirectProcessManager).
 */
export interface ServiceManager {
  /** For log lines: `systemd unit alki-qwen3.service`, `alki serve (supervised)`. */
  readonly description: string;
  /** The base URL the server of `slot` answers on, for health checks. */
  url(slot: ServedSlot): Promise<string>;
  /** Stops what is serving, and starts serving `slot`. Resolves once it is started, before it is healthy. */
  restart(slot: ServedSlot, signal?: AbortSignal): Promise<void>;
  /**
   * Serves `slot`, keeping a server that already does (one an earlier agent
   * started before it was killed); says whether one had to be started.
   */
  ensure(slot: ServedSlot, signal?: AbortSignal): Promise<'running' | 'started'>;
  /** Calls `listener` when the server stops without being asked to. */
  onUnexpectedExit(listener: (reason: string) => void): void;
  /** The agent is stopping: stop what it supervises (a systemd unit is left running). */
  close(): Promise<void>;
}

/**
 * The URL the server of a bundle answers on: the port of its runtime.json
 * (or the one given), on 127.0.0.1 whatever address it listens on.
 */
export async function bundleServerUrl(dir: string, port?: number): Promise<string> {
  const bundle = await readBundle(dir);
  return `http://127.0.0.1:${port ?? bundle.runtime.server.port}`;
}
