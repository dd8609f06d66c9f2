// The CPU and memory limits a process runs under, from Linux control groups.
// v1 (one hierarchy per controller: cpu/cpu.cfs_quota_us,
// memory/memory.limit_in_bytes), v2 (one unified hierarchy: cpu.max,
// memory.max) and the hybrid layout of systemd hosts, where the v1
// controllers hold the limits and the unified tree holds none. Names and
// formats follow the kernel's Documentation/admin-guide/cgroup-v1/ and
// cgroup-v2.rst.

/** Reads a file as text; undefined when it does not exist or cannot be read. */
export type ReadText = (file: string) => Promise<string | undefined>;

/** One line of /proc/self/cgroup. */
export interface CgroupMembership {
  /** 0 for the unified (v2) hierarchy. */
  hierarchy: number;
  /** v1 controllers of the hierarchy (`cpu`, `cpuacct`); empty for v2. */
  controllers: string[];
  /** The cgroup's path inside its hierarchy, `/system.slice/x.service`. */
  path: string;
}

/** A cgroup mount from /proc/self/mountinfo. */
export interface CgroupMount {
  version: 1 | 2;
  /** The directory inside the hierarchy that is mounted (`/` unless a container sees part of it). */
  root: string;
  mountPoint: string;
  /** v1 controllers this mount carries; empty for v2. */
  controllers: string[];
}

/** The limits found, each with the directory it came from. */
export interface CgroupLimits {
  /** Where the CPU and memory limits live: `v1`, `v2`, or `none` when there are no cgroup mounts. */
  version: 'v1' | 'v2' | 'none';
  /** CPU time the group may use, in cores (quota / period); absent when unlimited. */
  cpuLimitCores?: number;
  /** CPUs the cpuset allows; absent when it cannot be read. */
  cpusetCores?: number;
  /** Memory the group may use, in bytes; absent when unlimited. */
  memoryLimitBytes?: number;
  /** The cgroup directories the limits were read from. */
  cpuDir?: string;
  memoryDir?: string;
}

// v1 writes "no limit" as PAGE_COUNTER_MAX pages, which is 2^63 rounded down
// to a page (9223372036854771712 with 4 KiB pages); anything this large is no limit.
const V1_UNLIMITED_BYTES = 2 ** 60;

/** Reads /proc/self/cgroup. */
export function parseProcCgroup(text: string): CgroupMembership[] {
  const result: CgroupMembership[] = [];
  for (const line of text.split('\n')) {
    const match = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!match) continue;
    result.push({
      hierarchy: Number(match[1]),
      controllers: match[2] ? match[2].split(',').filter((c) => !c.startsWith('name=')) : [],
      path: match[3],
    });
  }
  return result;
}

// mountinfo escapes space, tab, newline and backslash as \ooo (fs/proc_namespace.c, show_mountinfo).
function unescapeMountPath(value: string): string {
  return value.replace(/\\([0-7]{3})/g, (_m, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** Reads the cgroup mounts out of /proc/self/mountinfo (Documentation/filesystems/proc.rst, 3.5). */
export function parseMountInfo(text: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of text.split('\n')) {
    const separator = line.indexOf(' - ');
    if (separator < 0) continue;
    const before = line.slice(0, separator).split(' ');
    const [fsType, , superOptions = ''] = line.slice(separator + 3).split(' ');
    if (fsType !== 'cgroup' && fsType !== 'cgroup2') continue;
    const known = ['cpu', 'cpuacct', 'cpuset', 'memory', 'pids', 'blkio', 'devices', 'freezer', 'hugetlb'];
    mounts.push({
      version: fsType === 'cgroup2' ? 2 : 1,
      root: unescapeMountPath(before[3]),
      mountPoint: unescapeMountPath(before[4]),
      controllers: fsType === 'cgroup' ? superOptions.split(',').filter((o) => known.includes(o)) : [],
    });
  }
  return mounts;
}

/** Counts the CPUs of a cpuset list such as `0-3,6,8-9`. */
export function countCpuList(list: string): number {
  let count = 0;
  for (const part of list.trim().split(',')) {
    if (part === '') continue;
    const [from, to] = part.split('-').map(Number);
    count += to === undefined ? 1 : to - from + 1;
  }
  return count;
}

/** v2 `cpu.max`: `max 100000` or `150000 100000`; cores, or undefined when unlimited. */
export function parseCpuMax(text: string): number | undefined {
  const [quota, period] = text.trim().split(/\s+/);
  if (quota === 'max' || !period) return undefined;
  return Number(quota) / Number(period);
}

/** v1 `cpu.cfs_quota_us` and `cpu.cfs_period_us`; cores, or undefined when the quota is -1. */
export function parseCfsQuota(quotaText: string, periodText: string): number | undefined {
  const quota = Number(quotaText.trim());
  const period = Number(periodText.trim());
  if (!(quota > 0) || !(period > 0)) return undefined;
  return quota / period;
}

/** v2 `memory.max` (`max` or bytes) or v1 `memory.limit_in_bytes`; undefined when unlimited. */
export function parseMemoryLimit(text: string): number | undefined {
  const value = text.trim();
  if (value === 'max') return undefined;
  const bytes = Number(value);
  return Number.isFinite(bytes) && bytes < V1_UNLIMITED_BYTES ? bytes : undefined;
}

interface Located {
  version: 1 | 2;
  /** The process's own cgroup directory, then each parent up to the mount point. */
  dirs: string[];
}

function join(mountPoint: string, relative: string): string {
  return `${mountPoint.replace(/\/$/, '')}${relative === '/' ? '' : relative}`;
}

// The process's directory for a controller and its ancestors inside the
// mount: a limit on any of them applies, and the tightest one wins.
function locate(
  controller: 'cpu' | 'memory' | 'cpuset',
  memberships: CgroupMembership[],
  mounts: CgroupMount[],
  unifiedControllers: string[],
): Located | undefined {
  const v1Mount = mounts.find((m) => m.version === 1 && m.controllers.includes(controller));
  const v1Member = memberships.find((m) => m.hierarchy !== 0 && m.controllers.includes(controller));
  let mount: CgroupMount | undefined;
  let cgroupPath: string | undefined;
  if (v1Mount && v1Member) {
    mount = v1Mount;
    cgroupPath = v1Member.path;
  } else if (unifiedControllers.includes(controller)) {
    mount = mounts.find((m) => m.version === 2);
    cgroupPath = memberships.find((m) => m.hierarchy === 0)?.path;
  }
  if (!mount || cgroupPath === undefined) return undefined;
  // A container sees its own cgroup as the mount's root; the part above it is not visible.
  const relative =
    mount.root !== '/' && cgroupPath.startsWith(mount.root)
      ? cgroupPath.slice(mount.root.length) || '/'
      : cgroupPath;
  const dirs: string[] = [];
  const segments = relative.split('/').filter(Boolean);
  for (let depth = segments.length; depth >= 0; depth--) {
    dirs.push(join(mount.mountPoint, `/${segments.slice(0, depth).join('/')}`));
  }
  return { version: mount.version, dirs };
}

async function tightest(
  located: Located | undefined,
  limitOf: (dir: string) => Promise<number | undefined>,
): Promise<number | undefined> {
  if (!located) return undefined;
  let best: number | undefined;
  for (const dir of located.dirs) {
    const limit = await limitOf(dir);
    if (limit !== undefined && (best === undefined || limit < best)) best = limit;
  }
  return best;
}

/**
 * The CPU quota, cpuset and memory limit of the calling process (or of the
 * process whose /proc files `procDir` names), with every file read through
 * `read` so that tests can give another machine's files.
 *
 * @example
 * const limits = await readCgroupLimits((f) => fs.promises.readFile(f, 'utf8').catch(() => undefined));
 * limits.memoryLimitBytes; // undefined outside a container
 */
export async function readCgroupLimits(read: ReadText, procDir = '/proc/self'): Promise<CgroupLimits> {
  const memberships = parseProcCgroup((await read(`${procDir}/cgroup`)) ?? '');
  const mounts = parseMountInfo((await read(`${procDir}/mountinfo`)) ?? '');
  if (mounts.length === 0 || memberships.length === 0) return { version: 'none' };
  const unified = mounts.find((m) => m.version === 2);
  const unifiedControllers = unified
    ? ((await read(`${join(unified.mountPoint, '/')}/cgroup.controllers`)) ?? '').trim().split(/\s+/)
    : [];
  const cpu = locate('cpu', memberships, mounts, unifiedControllers);
  const memory = locate('memory', memberships, mounts, unifiedControllers);
  const cpuset = locate('cpuset', memberships, mounts, unifiedControllers);

  const cpuLimitCores = await tightest(cpu, async (dir) => {
    if (cpu!.version === 2) {
      const text = await read(`${dir}/cpu.max`);
      return text === undefined ? undefined : parseCpuMax(text);
    }
    const quota = await read(`${dir}/cpu.cfs_quota_us`);
    const period = await read(`${dir}/cpu.cfs_period_us`);
    return quota === undefined || period === undefined ? undefined : parseCfsQuota(quota, period);
  });
  const memoryLimitBytes = await tightest(memory, async (dir) => {
    const text = await read(`${dir}/${memory!.version === 2 ? 'memory.max' : 'memory.limit_in_bytes'}`);
    return text === undefined ? undefined : parseMemoryLimit(text);
  });
  // The process's own cpuset is already the intersection with its parents'.
  const cpusetText = cpuset
    ? await read(`${cpuset.dirs[0]}/${cpuset.version === 2 ? 'cpuset.cpus.effective' : 'cpuset.cpus'}`)
    : undefined;
  const cpusetCores = cpusetText?.trim() ? countCpuList(cpusetText) : undefined;
  const source = (cpu ?? memory)?.version ?? (unified ? 2 : 1);
  const version = source === 2 ? 'v2' : 'v1';
  return {
    version,
    ...(cpuLimitCores !== undefined ? { cpuLimitCores } : {}),
    ...(cpusetCores !== undefined ? { cpusetCores } : {}),
    ...(memoryLimitBytes !== undefined ? { memoryLimitBytes } : {}),
    ...(cpu ? { cpuDir: cpu.dirs[0] } : {}),
    ...(memory ? { memoryDir: memory.dirs[0] } : {}),
  };
}
