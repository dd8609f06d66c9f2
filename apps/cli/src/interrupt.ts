import fs from 'node:fs';

/**
 * Ending an interrupted CLI whose cleanup is stuck on a read that never ends.
 *
 * A read of a FIFO without a writer (or of a hung network file system) blocks a thread of Node's file-system
 * pool in the kernel. The command awaiting it never gets to its cleanup, and the process cannot end either:
 * `process.exit()` joins that thread and hangs too. Only a signal's default action ends such a process.
 *
 * So after an interrupt and a grace, the CLI looks at its own threads (Linux: /proc/self/task) and ends
 * itself by the same signal, with the default action (a shell shows 130 for SIGINT, 143 for SIGTERM), but
 * only when all of this holds on consecutive looks: a thread sleeps interruptibly in a read, write or open
 * (not a disk wait, which is state D, nor an idle pool thread, which waits in futex), with the same
 * arguments and no CPU time since the last look; the event loop did next to nothing in between; and no
 * child process is left to wait for. Cleanup that makes progress (file-system calls completing, a child
 * exiting, a slow disk) never meets it. Elsewhere than Linux on x64 or arm64 it never fires.
 */

/** How long an interrupted command gets to clean up before the CLI looks for a stuck read. */
export const INTERRUPT_GRACE_MS = 5000;
const LOOK_EVERY_MS = 500;
// Looks after the first that must each find the same stuck read and an idle event loop since the last.
const CONFIRMATIONS = 2;
const IDLE_UTILIZATION = 0.05;

// System calls that wait on a FIFO, a socket or a device: read, write and open (with their variants).
const BLOCKING_CALLS: Partial<Record<NodeJS.Architecture, Set<number>>> = {
  // read, write, open, pread64, pwrite64, readv, writev, openat, preadv, pwritev, preadv2, pwritev2, openat2
  x64: new Set([0, 1, 2, 17, 18, 19, 20, 257, 295, 296, 327, 328, 437]),
  // openat, read, write, readv, writev, pread64, pwrite64, preadv, pwritev, preadv2, pwritev2, openat2
  arm64: new Set([56, 63, 64, 65, 66, 67, 68, 69, 70, 286, 287, 437]),
};

/**
 * The threads of this process (not the main one) asleep in a read, write or open: each as its id, the
 * system call with its arguments, and its CPU time, to compare between two looks.
 */
export function blockedThreads(): Map<string, string> {
  const calls = BLOCKING_CALLS[process.arch];
  const blocked = new Map<string, string>();
  if (process.platform !== 'linux' || !calls) return blocked;
  let tasks: string[];
  try {
    tasks = fs.readdirSync('/proc/self/task');
  } catch {
    return blocked;
  }
  for (const tid of tasks) {
    if (tid === String(process.pid)) continue;
    try {
      const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      // After "pid (comm) ": state is the first field, utime and stime the 12th and 13th.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] !== 'S') continue;
      const syscall = fs.readFileSync(`/proc/self/task/${tid}/syscall`, 'utf8').trim();
      if (!calls.has(Number(syscall.split(' ')[0]))) continue;
      blocked.set(tid, `${syscall} cpu ${fields[11]} ${fields[12]}`);
    } catch {
      // A thread that ended between the listing and the read, or a kernel that hides these files.
    }
  }
  return blocked;
}

/** True when some thread is asleep in the same read as at the last look, with no CPU time since. */
function sameBlocked(before: Map<string, string>, now: Map<string, string>): boolean {
  for (const [tid, call] of now) if (before.get(tid) === call) return true;
  return false;
}

/**
 * Ends the process at once by `signal`'s default action: unlike `process.exit()`, this does not wait for a
 * thread blocked in the kernel.
 */
export function quitBySignal(signal: NodeJS.Signals): void {
  process.removeAllListeners(signal);
  process.kill(process.pid, signal);
}

/**
 * Called on the first interrupt: after `graceMs`, ends the process by `signal` if a read stuck in the kernel
 * keeps it alive (see above). Its timers are unref'd, so a process that ends normally is never held up, and
 * they start only once the interrupt came.
 */
export function quitWhenStuck(signal: NodeJS.Signals, graceMs = INTERRUPT_GRACE_MS): void {
  let before = new Map<string, string>();
  let loop = performance.eventLoopUtilization();
  let stuckLooks = 0;
  const look = () => {
    const idle = performance.eventLoopUtilization(loop).utilization < IDLE_UTILIZATION;
    loop = performance.eventLoopUtilization();
    const now = blockedThreads();
    const children = process.getActiveResourcesInfo().includes('ProcessWrap');
    stuckLooks = idle && !children && sameBlocked(before, now) ? stuckLooks + 1 : 0;
    before = now;
    if (stuckLooks >= CONFIRMATIONS) quitBySignal(signal);
    else setTimeout(look, LOOK_EVERY_MS).unref();
  };
  setTimeout(look, graceMs).unref();
}
