// Runs measurements under another machine's CPU and memory limits, in a
// cgroup this process creates below its own: on cgroup v1 (and the v1
// controllers of a hybrid systemd host) a directory in the cpu and memory
// hierarchies; on cgroup v2 a child of this process's cgroup with the cpu and
// memory controllers delegated to it. Children enter the cgroup before they
// exec (a shell writes its own pid to cgroup.procs, then execs the tool), so
// no instruction runs outside the limits. The kernel's interface files are
// those of Documentation/admin-guide/cgroup-v1/{cpu,memory}.rst and cgroup-v2.rst.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CalibrateError } from '../errors.js';
import type { CommandWrapper } from '../process/run-tool.js';
import { parseMountInfo, parseProcCgroup, type CgroupMount } from '../probe/cgroup.js';

/** The limits to emulate. */
export interface ResourceLimits {
  /** CPU time in cores (0.5 is half of one core's time). */
  cpuCores: number;
  memoryBytes: number;
}

/** What the memory limit did. */
export interface MemoryUsage {
  peakBytes?: number;
  limitHits?: number;
  oomKills?: number;
}

/** A cgroup with limits that commands can be run in. */
export interface LimitedScope {
  method: 'cgroup-v1' | 'cgroup-v2';
  limits: ResourceLimits;
  /** The cgroup directories. */
  dirs: string[];
  wrap: CommandWrapper;
  /** Peak memory charged to the cgroup, how often it hit the limit, and how many processes the OOM killer ended there. */
  memoryUsage(): Promise<MemoryUsage>;
  /** Removes the cgroup (its processes must have exited). */
  close(): Promise<void>;
}

/** The file operations the scope needs; the real file system by default. */
export interface CgroupFs {
  readFile(file: string): Promise<string>;
  writeFile(file: string, text: string): Promise<void>;
  mkdir(dir: string): Promise<void>;
  rmdir(dir: string): Promise<void>;
}

const realFs: CgroupFs = {
  readFile: (file) => readFile(file, 'utf8'),
  writeFile: (file, text) => writeFile(file, text),
  mkdir: async (dir) => {
    await mkdir(dir);
  },
  rmdir: (dir) => rmdir(dir),
};

// A short period, so that short bursts (a generated token takes milliseconds)
// are throttled too: with the default 100 ms, a 5 ms burst fits in one
// period's quota and runs at full speed.
const CFS_PERIOD_US = 10_000;

// `sh -c SCRIPT sh DIR... -- COMMAND ARGS`: moves itself into each cgroup,
// then becomes the command (same pid, so /proc/<pid> still names it).
const ENTER_SCRIPT =
  'while [ "$1" != -- ]; do echo $$ > "$1/cgroup.procs" || exit 126; shift; done; shift; exec "$@"';

function wrapper(dirs: string[]): CommandWrapper {
  return (command, args) => ({
    command: '/bin/sh',
    args: ['-c', ENTER_SCRIPT, 'sh', ...dirs, '--', command, ...args],
  });
}

function ownDir(mount: CgroupMount, cgroupPath: string): string {
  const relative =
    mount.root !== '/' && cgroupPath.startsWith(mount.root)
      ? cgroupPath.slice(mount.root.length)
      : cgroupPath;
  return path.join(mount.mountPoint, relative);
}

function failure(step: string, error: unknown): CalibrateError {
  return new CalibrateError(
    'UNSUPPORTED_ENVIRONMENT',
    `Cannot create a cgroup to emulate the device: ${step}: ${(error as Error).message}.`,
    {
      cause: error,
      hint: 'Run as root on a machine with cgroup v1, or cgroup v2 with the cpu and memory controllers delegated; or calibrate on the device itself.',
    },
  );
}

/**
 * Creates a cgroup with a CPU quota and a memory limit below this process's
 * own, and returns a wrapper that runs commands inside it.
 *
 * @example
 * const scope = await createLimitedScope({ cpuCores: 1.2, memoryBytes: 8 * 2 ** 30 });
 * try { await runTool('llama-bench', args, { wrap: scope.wrap }); } finally { await scope.close(); }
 */
export async function createLimitedScope(
  limits: ResourceLimits,
  options: { fs?: CgroupFs; procDir?: string } = {},
): Promise<LimitedScope> {
  const fs = options.fs ?? realFs;
  const procDir = options.procDir ?? '/proc/self';
  if (!(limits.cpuCores > 0) || !(limits.memoryBytes > 0)) {
    throw new CalibrateError('INVALID_OPTIONS', 'Emulated limits need a positive CPU share and memory size.');
  }
  const memberships = parseProcCgroup(await fs.readFile(`${procDir}/cgroup`).catch(() => ''));
  const mounts = parseMountInfo(await fs.readFile(`${procDir}/mountinfo`).catch(() => ''));
  const name = `alki-calibrate-${process.pid}-${randomBytes(3).toString('hex')}`;
  // The kernel's smallest quota is 1 ms (sched_cfs_bandwidth_slice aside).
  const quota = String(Math.max(1000, Math.round(limits.cpuCores * CFS_PERIOD_US)));
  const memory = String(Math.floor(limits.memoryBytes));
  const v1 = (controller: string) => {
    const mount = mounts.find((m) => m.version === 1 && m.controllers.includes(controller));
    const member = memberships.find((m) => m.hierarchy !== 0 && m.controllers.includes(controller));
    return mount && member ? path.join(ownDir(mount, member.path), name) : undefined;
  };
  const cpuDir = v1('cpu');
  const memoryDir = v1('memory');
  const made: string[] = [];
  const cleanup = async () => {
    for (const dir of made.reverse()) await fs.rmdir(dir).catch(() => undefined);
  };

  try {
    if (cpuDir && memoryDir) {
      await fs.mkdir(cpuDir).catch((error) => Promise.reject(failure(`mkdir ${cpuDir}`, error)));
      made.push(cpuDir);
      await fs.mkdir(memoryDir).catch((error) => Promise.reject(failure(`mkdir ${memoryDir}`, error)));
      made.push(memoryDir);
      await fs.writeFile(`${cpuDir}/cpu.cfs_period_us`, String(CFS_PERIOD_US));
      await fs.writeFile(`${cpuDir}/cpu.cfs_quota_us`, quota);
      await fs.writeFile(`${memoryDir}/memory.limit_in_bytes`, memory);
      // With swap accounting, memory+swap gets the same limit, so the limit cannot be met by swapping.
      await fs.writeFile(`${memoryDir}/memory.memsw.limit_in_bytes`, memory).catch(() => undefined);
      return {
        method: 'cgroup-v1',
        limits,
        dirs: [cpuDir, memoryDir],
        wrap: wrapper([cpuDir, memoryDir]),
        async memoryUsage() {
          const peak = Number(await fs.readFile(`${memoryDir}/memory.max_usage_in_bytes`).catch(() => 'NaN'));
          // With swap accounting the memory+swap counter may hit its limit first.
          const failures = await Promise.all(
            ['memory.failcnt', 'memory.memsw.failcnt'].map(async (f) =>
              Number(await fs.readFile(`${memoryDir}/${f}`).catch(() => '0')),
            ),
          );
          const hits = Math.max(...failures);
          // "oom_kill N" (kernels from 4.13): processes the OOM killer ended in this cgroup.
          const oom = /^oom_kill (\d+)/m.exec(
            await fs.readFile(`${memoryDir}/memory.oom_control`).catch(() => ''),
          )?.[1];
          return {
            ...(Number.isFinite(peak) ? { peakBytes: peak } : {}),
            ...(Number.isFinite(hits) ? { limitHits: hits } : {}),
            ...(oom !== undefined ? { oomKills: Number(oom) } : {}),
          };
        },
        close: cleanup,
      };
    }
    const unified = mounts.find((m) => m.version === 2);
    const member = memberships.find((m) => m.hierarchy === 0);
    if (!unified || !member) {
      throw failure('no cgroup hierarchy with the cpu and memory controllers', new Error('none mounted'));
    }
    const parent = ownDir(unified, member.path);
    const dir = path.join(parent, name);
    // Delegation: the parent must pass the controllers down. This fails with
    // EBUSY when the parent holds processes itself (cgroup v2's "no internal
    // processes" rule), as a login shell's cgroup does.
    await fs
      .writeFile(`${parent}/cgroup.subtree_control`, '+cpu +memory')
      .catch((error) => Promise.reject(failure(`enabling cpu and memory in ${parent}`, error)));
    await fs.mkdir(dir).catch((error) => Promise.reject(failure(`mkdir ${dir}`, error)));
    made.push(dir);
    await fs.writeFile(`${dir}/cpu.max`, `${quota} ${CFS_PERIOD_US}`);
    await fs.writeFile(`${dir}/memory.max`, memory);
    await fs.writeFile(`${dir}/memory.swap.max`, '0').catch(() => undefined);
    return {
      method: 'cgroup-v2',
      limits,
      dirs: [dir],
      wrap: wrapper([dir]),
      async memoryUsage() {
        const peak = Number(await fs.readFile(`${dir}/memory.peak`).catch(() => 'NaN'));
        const events = await fs.readFile(`${dir}/memory.events`).catch(() => '');
        const hits = /^max (\d+)/m.exec(events)?.[1];
        const oom = /^oom_kill (\d+)/m.exec(events)?.[1];
        return {
          ...(Number.isFinite(peak) ? { peakBytes: peak } : {}),
          ...(hits !== undefined ? { limitHits: Number(hits) } : {}),
          ...(oom !== undefined ? { oomKills: Number(oom) } : {}),
        };
      },
      close: cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error instanceof CalibrateError ? error : failure('writing the limits', error);
  }
}
