import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CalibrateError } from '../errors.js';
import { failureReason, runTool, type CommandWrapper } from '../process/run-tool.js';
import type { WorkerMessage, WorkerTask } from './protocol.js';

export interface RunWorkerOptions {
  signal?: AbortSignal;
  /** Kill the child after this long. Default 30 minutes. */
  timeoutMs?: number;
  wrap?: CommandWrapper;
  onProgress?: (done: number, total: number) => void;
}

type ResultMessage = Exclude<WorkerMessage, { type: 'progress' } | { type: 'error' }>;

// The compiled worker.js beside this file; from the TypeScript sources (Jest
// maps @alki/* to src) the .ts file through tsx, the repository's runner.
function workerEntry(): string[] {
  const compiled = fileURLToPath(new URL('./worker.js', import.meta.url));
  if (fs.existsSync(compiled)) return [compiled];
  return ['--import', 'tsx', fileURLToPath(new URL('./worker.ts', import.meta.url))];
}

/**
 * Runs one node-llama-cpp task in a child process and resolves with its
 * result message. A crash in native code (llama.cpp aborts on some broken
 * files) becomes a MEASUREMENT_FAILED error naming the model.
 *
 * @example
 * const result = await runWorker({ kind: 'quality-compare', model: 'q4.gguf', threads: 2, baseFile });
 */
export async function runWorker(task: WorkerTask, options: RunWorkerOptions = {}): Promise<ResultMessage> {
  let result: ResultMessage | undefined;
  let failure: string | undefined;
  const run = await runTool(process.execPath, [...workerEntry(), JSON.stringify(task)], {
    signal: options.signal,
    timeoutMs: options.timeoutMs,
    wrap: options.wrap,
    onMessage: (message) => {
      const m = message as WorkerMessage;
      if (m.type === 'progress') options.onProgress?.(m.done, m.total);
      else if (m.type === 'error') failure = m.message;
      else result = m;
    },
  });
  if (result && run.code === 0) return result;
  const how =
    failure ??
    (run.signal === 'SIGABRT' || run.code === 134
      ? `llama.cpp aborted the process: ${failureReason(run.stderrTail)}`
      : run.signal === 'SIGKILL'
        ? 'the process was killed (out of memory?)'
        : `the process exited with ${run.signal ?? `code ${run.code}`}: ${failureReason(run.stderrTail)}`);
  throw new CalibrateError('MEASUREMENT_FAILED', `node-llama-cpp could not measure ${task.model}: ${how}`, {
    details: { model: task.model, task: task.kind, exitCode: run.code, signal: run.signal },
  });
}
