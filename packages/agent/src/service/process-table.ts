import fs from 'node:fs';

/** A running process: its id and its argument vector. */
export interface ProcessEntry {
  pid: number;
  args: string[];
}

/** The processes of this machine, as the direct-process manager sees them. Injected in tests. */
export interface ProcessTable {
  list(): Promise<ProcessEntry[]>;
  /** True while the process exists and is not a zombie. */
  alive(pid: number): boolean;
  signal(pid: number, signal: NodeJS.Signals): void;
}

// /proc/<pid>/stat: "pid (comm) S ...": the state letter follows the last ')'.
function isZombie(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
}

/** The Linux process table, read from /proc (proc(5): cmdline, stat). */
export const linuxProcessTable: ProcessTable = {
  async list() {
    const entries: ProcessEntry[] = [];
    for (const name of await fs.promises.readdir('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      const cmdline = await fs.promises.readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '');
      if (!cmdline) continue;
      entries.push({ pid: Number(name), args: cmdline.replace(/\0$/, '').split('\0') });
    }
    return entries;
  },
  alive(pid) {
    try {
      process.kill(pid, 0);
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'EPERM';
    }
    return !isZombie(pid);
  },
  signal(pid, signal) {
    try {
      process.kill(pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  },
};
