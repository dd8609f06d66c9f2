import fs from 'node:fs';
import { AgentError } from '../errors.js';
import { linuxProcessTable, type ProcessTable } from '../service/process-table.js';

export interface Lock {
  release(): Promise<void>;
}

/**
 * Takes the agent directory for this process: a lock file holding its PID,
 * created exclusively. A lock whose process is gone (a killed agent) is
 * taken over; one whose process runs is refused with LOCKED.
 */
export async function acquireLock(file: string, processes: ProcessTable = linuxProcessTable): Promise<Lock> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await fs.promises.writeFile(file, `${process.pid}\n`, { flag: 'wx' });
      return {
        async release() {
          const owner = Number((await fs.promises.readFile(file, 'utf8').catch(() => '')).trim());
          if (owner === process.pid) await fs.promises.rm(file, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number((await fs.promises.readFile(file, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && processes.alive(owner))
      throw new AgentError(
        'LOCKED',
        `Another agent (pid ${owner}) is using ${file.replace(/\/[^/]+$/, '')}.`,
        {
          hint: 'Run one agent per directory; stop the other one first.',
          details: { pid: owner, lock: file },
        },
      );
    // The agent that held it is gone.
    await fs.promises.rm(file, { force: true });
  }
  throw new AgentError('LOCKED', `Could not take the lock ${file}.`, { details: { lock: file } });
}
