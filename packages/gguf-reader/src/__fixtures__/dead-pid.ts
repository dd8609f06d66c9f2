import { spawnSync } from 'node:child_process';
import { isProcessAlive } from '../temp-files.js';

/** The id of a process that has exited and been reaped: the owner of what a killed process left. */
export function deadPid(): number {
  const pid = spawnSync(process.execPath, ['-e', '']).pid;
  if (pid === undefined || isProcessAlive(pid)) throw new Error('no dead process id to test with');
  return pid;
}
