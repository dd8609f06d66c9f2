import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { RuntimeError } from '../errors.js';
import { abortReason } from '../native/abort-reason.js';
import type { CheckName, ValidationCheck, ModelMetrics } from './report.js';
import type { WorkerMessage, WorkerRequest } from './worker-protocol.js';

export interface WorkerRunOptions {
  /** Node options for the child; by default this process's own (as `fork` does). */
  execArgv?: string[];
  /** Kill the child after this long. Default 10 minutes. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Called as each check starts, for progress output. */
  onCheck?: (check: CheckName) => void;
}

export interface WorkerOutcome {
  checks: ValidationCheck[];
  metrics: ModelMetrics;
  sample?: string;
}

const STDERR_TAIL_BYTES = 4096;

/**
 * The worker's entry: the compiled `worker.js` beside this file, or when
 * running from the TypeScript sources (Jest maps @alki/* to src), the `.ts`
 * file run through tsx, the repository's TypeScript runner.
 */
function workerEntry(): { file: string; execArgv: string[] } {
  const compiled = fileURLToPath(new URL('./worker.js', import.meta.url));
  if (fs.existsSync(compiled)) return { file: compiled, execArgv: [] };
  return { file: fileURLToPath(new URL('./worker.ts', import.meta.url)), execArgv: ['--import', 'tsx'] };
}

/**
 * Runs the model checks in a child process and turns whatever happens to it
 * (a clean finish, an abort in native code, a timeout) into check results.
 * The check that was running when the child died is the one that failed.
 *
 * @example
 * const outcome = await runModelChecks({ modelPath: 'm.gguf', prompt: 'Hi', maxTokens: 8, contextSize: 256, threads: 2, score: false });
 */
export function runModelChecks(
  request: WorkerRequest,
  options: WorkerRunOptions = {},
): Promise<WorkerOutcome> {
  const entry = workerEntry();
  const execArgv = [
    ...(options.execArgv ?? process.execArgv.filter((arg) => !arg.startsWith('--experimental-vm-modules'))),
    ...entry.execArgv,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...execArgv, entry.file, JSON.stringify(request)], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    const checks: ValidationCheck[] = [];
    let metrics: ModelMetrics = {};
    let sample: string | undefined;
    let running: CheckName | undefined;
    let done = false;
    let stderr = '';
    let killedFor: string | undefined;
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES);
    });
    child.on('message', (message: WorkerMessage) => {
      if (message.type === 'start') {
        running = message.check;
        options.onCheck?.(message.check);
      } else if (message.type === 'result') {
        checks.push(message.result);
        running = undefined;
      } else {
        metrics = message.metrics;
        sample = message.sample;
        done = true;
      }
    });
    const kill = (reason: string) => {
      killedFor = reason;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(
      () => kill(`it ran past the ${Math.round((options.timeoutMs ?? 600_000) / 1000)} s limit`),
      options.timeoutMs ?? 600_000,
    );
    const onAbort = () => kill('interrupted');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(
        new RuntimeError('WORKER_FAILED', `The validation process could not start: ${error.message}`, {
          cause: error,
        }),
      );
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (options.signal?.aborted) {
        reject(options.signal.reason);
        return;
      }
      if (!done || code !== 0) {
        const how =
          killedFor ??
          (signal === 'SIGABRT' || code === 134
            ? 'llama.cpp aborted the process'
            : signal
              ? `the process died of ${signal}`
              : `the process exited with code ${code}`);
        const reason = abortReason(stderr);
        const check = running ?? (checks.length === 0 ? 'load' : undefined);
        if (check) {
          checks.push({
            name: check,
            status: 'fail',
            message: `${how} during the ${check} check${reason ? `: ${reason}` : '.'}`,
            details: { exitCode: code, signal, stderr: stderr.slice(-1500) },
          });
        } else if (!checks.some((c) => c.status === 'fail')) {
          checks.push({
            name: 'load',
            status: 'fail',
            message: `${how} after the checks${reason ? `: ${reason}` : '.'}`,
            details: { exitCode: code, signal },
          });
        }
      }
      resolve({ checks, metrics, sample });
    });
  });
}
