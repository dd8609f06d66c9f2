import { spawn, type ChildProcess } from 'node:child_process';
import { abortedError } from '../errors.js';

/** How a credential helper run ended. Its output is for parsing only: it may hold the secret, so it is never shown. */
export type HelperOutcome =
  | { kind: 'exited'; status: number | null; stdout: string; stderr: string }
  /** It did not finish within the timeout; it and every process it started were killed. */
  | { kind: 'timed-out' }
  /** The program could not be started (not installed, not executable). */
  | { kind: 'not-runnable'; cause: unknown };

export interface HelperRunOptions {
  timeoutMs: number;
  /** Aborting kills the helper's process group and rejects with ABORTED. */
  signal?: AbortSignal;
}

/** Runs a credential helper with `input` on stdin. Injected so tests can use a fake helper or none. */
export type HelperRunner = (
  program: string,
  args: string[],
  input: string,
  env: NodeJS.ProcessEnv,
  options: HelperRunOptions,
) => Promise<HelperOutcome>;

// A helper answers with one small JSON object; more than this is not an
// answer, and is not kept in memory.
const MAX_OUTPUT_BYTES = 64 * 1024;
// coreutils timeout(1) reports that it could not start the command with 126
// (found, not executable) or 127 (not found).
const TIMEOUT_COULD_NOT_RUN = new Set([126, 127]);

function killGroup(child: ChildProcess): void {
  // The helper leads its own process group (detached), so a negative pid
  // reaches it and everything it started; it may already be gone.
  try {
    if (child.pid) process.kill(-child.pid, 'SIGKILL');
  } catch {
    // ESRCH: nothing left to kill.
  }
}

function collect(stream: NodeJS.ReadableStream | null): () => string {
  const chunks: Buffer[] = [];
  let size = 0;
  stream?.on('data', (chunk: Buffer) => {
    if (size >= MAX_OUTPUT_BYTES) return;
    chunks.push(chunk);
    size += chunk.length;
  });
  return () => Buffer.concat(chunks).toString('utf8').slice(0, MAX_OUTPUT_BYTES);
}

function run(
  command: string,
  args: string[],
  input: string,
  env: NodeJS.ProcessEnv,
  options: HelperRunOptions,
): Promise<HelperOutcome & { spawnError?: NodeJS.ErrnoException }> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) return reject(abortedError(options.signal));
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env, detached: true });
    const stdout = collect(child.stdout);
    const stderr = collect(child.stderr);
    let settled = false;
    const finish = (done: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      done();
    };
    const timer = setTimeout(() => {
      killGroup(child);
      finish(() => resolve({ kind: 'timed-out' }));
    }, options.timeoutMs);
    const onAbort = () => {
      killGroup(child);
      finish(() => reject(abortedError(options.signal!)));
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (error: NodeJS.ErrnoException) =>
      finish(() => resolve({ kind: 'not-runnable', cause: error, spawnError: error })),
    );
    child.on('close', (status) =>
      finish(() => resolve({ kind: 'exited', status, stdout: stdout(), stderr: stderr() })),
    );
    // A helper that exits without reading stdin makes the write fail with
    // EPIPE; its exit status says what happened, so ignore that.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

/**
 * Runs a `docker-credential-*` helper in a process group of its own, with
 * a timeout; on timeout or abort the whole group is killed (SIGKILL), so a
 * helper that hangs or forks leaves nothing behind. It is started under
 * coreutils timeout(1) when that exists, set a little past our own timer:
 * if alki itself is killed (kill -9, where no cleanup runs), timeout(1)
 * still kills the group, so a helper is never orphaned for longer than that.
 *
 * @example
 * const outcome = await spawnHelper('docker-credential-pass', ['get'], 'ghcr.io', process.env, { timeoutMs: 30_000 });
 */
export const spawnHelper: HelperRunner = async (program, args, input, env, options) => {
  const backstopSeconds = Math.ceil(options.timeoutMs / 1000) + 2;
  const wrapped = await run(
    'timeout',
    ['-s', 'KILL', `${backstopSeconds}s`, program, ...args],
    input,
    env,
    options,
  );
  if (wrapped.kind === 'not-runnable' && wrapped.spawnError?.code === 'ENOENT') {
    // No timeout(1) (macOS without coreutils): our own timer is the only guard.
    const direct = await run(program, args, input, env, options);
    return direct.kind === 'not-runnable' ? { kind: 'not-runnable', cause: direct.cause } : direct;
  }
  if (
    wrapped.kind === 'exited' &&
    TIMEOUT_COULD_NOT_RUN.has(wrapped.status ?? -1) &&
    wrapped.stderr.startsWith('timeout: failed to run command')
  )
    return { kind: 'not-runnable', cause: new Error(`${program} could not be started`) };
  return wrapped.kind === 'not-runnable' ? { kind: 'not-runnable', cause: wrapped.cause } : wrapped;
};
