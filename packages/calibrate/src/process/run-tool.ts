import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { CalibrateError } from '../errors.js';

/** Starts a process; node's spawn by default, a seam for tests. */
export type Spawn = (command: string, args: string[], options: SpawnOptions) => ChildProcess;

/**
 * Rewrites a command line so that it runs somewhere else: inside a cgroup
 * with limits (see emulate/cgroup-limits.ts). The process id must stay the
 * child's own (an `exec` wrapper), so its memory can be watched.
 */
export type CommandWrapper = (command: string, args: string[]) => { command: string; args: string[] };

export interface RunToolOptions {
  signal?: AbortSignal;
  /** Kill the process after this long. Default 30 minutes. */
  timeoutMs?: number;
  /**
   * Called with each complete line the process writes to stdout or stderr;
   * with `rssOnLine`, a stdout line comes with the process's resident memory
   * (VmRSS) read as the line arrived.
   */
  onLine?: (line: string, stream: 'stdout' | 'stderr', rssBytes?: number) => void;
  /** Read VmRSS at each stdout line (a tool that prints a line per test: that test's model is loaded). */
  rssOnLine?: boolean;
  wrap?: CommandWrapper;
  env?: NodeJS.ProcessEnv;
  spawn?: Spawn;
  /** Sample the process's peak resident memory (VmHWM) this often. Default 100 ms. */
  memoryPollMs?: number;
  /** Called with the process's resident memory (VmRSS) at each sample. */
  onMemory?: (rssBytes: number) => void;
  /** Opens an IPC channel (a Node child) and passes each message it sends here. */
  onMessage?: (message: unknown) => void;
}

export interface ToolRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  /** The last 8 KiB of stderr, for error messages. */
  stderrTail: string;
  /** The largest VmHWM seen while it ran; absent where /proc is not readable. */
  peakRssBytes?: number;
  wallMs: number;
}

const STDERR_TAIL = 8192;
const DEFAULT_TIMEOUT_MS = 30 * 60_000;

/** VmHWM ("high water mark"), or another kB field such as VmRSS, of a /proc/<pid>/status text, in bytes. */
export function parseVmHwm(status: string, field: 'VmHWM' | 'VmRSS' = 'VmHWM'): number | undefined {
  const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(status);
  return match ? Number(match[1]) * 1024 : undefined;
}

// Calls onLine with each complete line of a stream, and with the unterminated
// rest when it ends.
function forEachLine(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): void {
  let pending = '';
  stream?.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    let newline = pending.indexOf('\n');
    while (newline >= 0) {
      onLine(pending.slice(0, newline).replace(/\r$/, ''));
      pending = pending.slice(newline + 1);
      newline = pending.indexOf('\n');
    }
  });
  stream?.on('end', () => {
    if (pending) onLine(pending);
  });
}

// VmRSS now, read synchronously so that no other work runs between the event and the reading.
function residentNow(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    return parseVmHwm(readFileSync(`/proc/${pid}/status`, 'utf8'), 'VmRSS');
  } catch {
    return undefined;
  }
}

/**
 * Runs a native tool to completion, collecting stdout, a tail of stderr, and
 * its peak resident memory, sampled from /proc while it runs (a process's
 * VmHWM is gone once it exits, and Node reports no rusage of children).
 * Abort and timeout kill it.
 *
 * @example
 * const run = await runTool('llama-bench', ['-m', 'm.gguf', '-o', 'jsonl']);
 */
export function runTool(command: string, args: string[], options: RunToolOptions = {}): Promise<ToolRun> {
  const wrapped = options.wrap ? options.wrap(command, args) : { command, args };
  const start = performance.now();
  options.signal?.throwIfAborted();
  return new Promise((resolve, reject) => {
    const child = (options.spawn ?? spawn)(wrapped.command, wrapped.args, {
      stdio: options.onMessage ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
      env: options.env ?? process.env,
    });
    if (options.onMessage) child.on('message', options.onMessage);
    let stdout = '';
    let stderrTail = '';
    let peak: number | undefined;
    let killedFor: string | undefined;
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    if (options.onLine) {
      forEachLine(child.stdout, (line) =>
        options.onLine!(line, 'stdout', options.rssOnLine ? residentNow(child.pid) : undefined),
      );
      forEachLine(child.stderr, (line) => options.onLine!(line, 'stderr'));
    }
    child.stderr?.on('data', (chunk: Buffer) => {
      stderrTail = (stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL);
    });
    const sample = async () => {
      if (child.pid === undefined || child.exitCode !== null) return;
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8').catch(() => undefined);
      const hwm = status === undefined ? undefined : parseVmHwm(status);
      if (hwm !== undefined && (peak === undefined || hwm > peak)) peak = hwm;
      const rss = status === undefined ? undefined : parseVmHwm(status, 'VmRSS');
      if (rss !== undefined) options.onMemory?.(rss);
    };
    const poller = setInterval(() => void sample(), options.memoryPollMs ?? 100);
    const kill = (reason: string) => {
      killedFor = reason;
      child.kill('SIGKILL');
    };
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const timer = setTimeout(() => kill(`it ran past ${Math.round(timeoutMs / 1000)} s`), timeoutMs);
    const onAbort = () => kill('interrupted');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const finish = () => {
      clearInterval(poller);
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    };
    child.once('error', (error) => {
      finish();
      reject(
        new CalibrateError('UNSUPPORTED_ENVIRONMENT', `${command} could not start: ${error.message}`, {
          cause: error,
          hint: 'Build the native tools with `alki tools build`, or use --engine node-llama-cpp.',
          details: { command },
        }),
      );
    });
    child.once('close', (code, signal) => {
      finish();
      if (options.signal?.aborted) {
        reject(options.signal.reason);
        return;
      }
      if (killedFor) {
        reject(
          new CalibrateError('MEASUREMENT_FAILED', `${command} was stopped: ${killedFor}.`, {
            details: { command, args, stderr: stderrTail },
          }),
        );
        return;
      }
      resolve({
        code,
        signal,
        stdout,
        stderrTail,
        ...(peak !== undefined ? { peakRssBytes: peak } : {}),
        wallMs: performance.now() - start,
      });
    });
    // One sample at once: very short runs would otherwise have none.
    void sample();
  });
}

/** The most telling line of a failed tool's stderr: an error, an assert, or the last line. */
export function failureReason(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  return (
    lines.find((line) => /GGML_ASSERT|error|failed|terminate called|what\(\)/i.test(line)) ??
    lines.at(-1) ??
    'no output'
  );
}
