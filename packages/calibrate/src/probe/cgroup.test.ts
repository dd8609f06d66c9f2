import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import {
  countCpuList,
  parseCfsQuota,
  parseCpuMax,
  parseMemoryLimit,
  parseMountInfo,
  parseProcCgroup,
  readCgroupLimits,
  type ReadText,
} from './cgroup.js';

/** A file system of a few files, as another machine would have them. */
function files(entries: Record<string, string>): ReadText {
  return (file) => Promise.resolve(entries[file]);
}

const V2_MOUNT =
  '29 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n';

describe('the cgroup file parsers', () => {
  it('read v2 cpu.max as cores, and max as no limit', () => {
    expect(parseCpuMax('150000 100000\n')).toBe(1.5);
    expect(parseCpuMax('max 100000\n')).toBeUndefined();
  });

  it('read a v1 CFS quota as cores, and -1 as no limit', () => {
    expect(parseCfsQuota('50000\n', '100000\n')).toBe(0.5);
    expect(parseCfsQuota('-1\n', '100000\n')).toBeUndefined();
  });

  it("read memory limits, with v1's page-rounded 2^63 and v2's max as no limit", () => {
    expect(parseMemoryLimit('536870912\n')).toBe(536870912);
    expect(parseMemoryLimit('9223372036854771712\n')).toBeUndefined();
    expect(parseMemoryLimit('max\n')).toBeUndefined();
  });

  it('count cpuset lists with ranges and single CPUs', () => {
    expect(countCpuList('0-3,6,8-9\n')).toBe(7);
    expect(countCpuList('0\n')).toBe(1);
  });

  it('read /proc/self/cgroup lines of both versions, without the named systemd hierarchy as a controller', () => {
    expect(parseProcCgroup('4:memory:/docker/abc\n1:name=systemd:/docker/abc\n0::/system.slice\n')).toEqual([
      { hierarchy: 4, controllers: ['memory'], path: '/docker/abc' },
      { hierarchy: 1, controllers: [], path: '/docker/abc' },
      { hierarchy: 0, controllers: [], path: '/system.slice' },
    ]);
  });

  it('read cgroup mounts from mountinfo, unescaping paths and keeping only cgroup file systems', () => {
    const text =
      '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n' +
      '31 30 0:28 /docker/abc /sys/fs/cgroup/cpu\\040x rw,relatime - cgroup cgroup rw,cpu,cpuacct\n' +
      V2_MOUNT;
    expect(parseMountInfo(text)).toEqual([
      {
        version: 1,
        root: '/docker/abc',
        mountPoint: '/sys/fs/cgroup/cpu x',
        controllers: ['cpu', 'cpuacct'],
      },
      { version: 2, root: '/', mountPoint: '/sys/fs/cgroup', controllers: [] },
    ]);
  });
});

describe('readCgroupLimits', () => {
  it('finds the CPU quota, cpuset and memory limit of a container on cgroup v2', async () => {
    const limits = await readCgroupLimits(
      files({
        '/proc/self/cgroup': '0::/\n',
        '/proc/self/mountinfo': V2_MOUNT,
        '/sys/fs/cgroup/cgroup.controllers': 'cpuset cpu io memory pids\n',
        '/sys/fs/cgroup/cpu.max': '150000 100000\n',
        '/sys/fs/cgroup/memory.max': '536870912\n',
        '/sys/fs/cgroup/cpuset.cpus.effective': '0-1\n',
      }),
    );
    expect(limits).toEqual({
      version: 'v2',
      cpuLimitCores: 1.5,
      cpusetCores: 2,
      memoryLimitBytes: 536870912,
      cpuDir: '/sys/fs/cgroup',
      memoryDir: '/sys/fs/cgroup',
    });
  });

  it('takes the tightest limit of a systemd service and the slices above it', async () => {
    const limits = await readCgroupLimits(
      files({
        '/proc/self/cgroup': '0::/edge.slice/alki.service\n',
        '/proc/self/mountinfo': V2_MOUNT,
        '/sys/fs/cgroup/cgroup.controllers': 'cpu memory\n',
        '/sys/fs/cgroup/edge.slice/alki.service/cpu.max': 'max 100000\n',
        '/sys/fs/cgroup/edge.slice/alki.service/memory.max': '4294967296\n',
        '/sys/fs/cgroup/edge.slice/cpu.max': '200000 100000\n',
        '/sys/fs/cgroup/edge.slice/memory.max': '2147483648\n',
      }),
    );
    expect(limits.cpuLimitCores).toBe(2);
    expect(limits.memoryLimitBytes).toBe(2147483648);
    expect(limits.memoryDir).toBe('/sys/fs/cgroup/edge.slice/alki.service');
  });

  it('reads a Docker container on cgroup v1, whose mounts start at its own cgroup', async () => {
    const mountinfo =
      '40 30 0:30 /docker/abc /sys/fs/cgroup/cpu,cpuacct ro,nosuid - cgroup cgroup rw,cpu,cpuacct\n' +
      '41 30 0:31 /docker/abc /sys/fs/cgroup/memory ro,nosuid - cgroup cgroup rw,memory\n';
    const limits = await readCgroupLimits(
      files({
        '/proc/self/cgroup': '5:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n',
        '/proc/self/mountinfo': mountinfo,
        '/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us': '250000\n',
        '/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us': '100000\n',
        '/sys/fs/cgroup/memory/memory.limit_in_bytes': '1073741824\n',
      }),
    );
    expect(limits).toEqual({
      version: 'v1',
      cpuLimitCores: 2.5,
      memoryLimitBytes: 1073741824,
      cpuDir: '/sys/fs/cgroup/cpu,cpuacct',
      memoryDir: '/sys/fs/cgroup/memory',
    });
  });

  it('reports no limits and no version where there are no cgroup mounts', async () => {
    expect(await readCgroupLimits(files({ '/proc/self/cgroup': '', '/proc/self/mountinfo': '' }))).toEqual({
      version: 'none',
    });
  });

  it("reads this machine's own cgroup files: the directories of /proc/self/cgroup, and the limits in them", async () => {
    const limits = await readCgroupLimits((file) => readFile(file, 'utf8').catch(() => undefined));
    const own = parseProcCgroup(readFileSync('/proc/self/cgroup', 'utf8'));
    const mounts = parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8'));
    const memoryMount = mounts.find((m) => m.controllers.includes('memory'));
    const memoryMember = own.find((m) => m.controllers.includes('memory'));
    if (memoryMount && memoryMember) {
      // Hybrid or v1 (this VM): the memory controller's own hierarchy.
      expect(limits.version).toBe('v1');
      expect(limits.memoryDir).toBe(
        `${memoryMount.mountPoint}${memoryMember.path === '/' ? '' : memoryMember.path}`,
      );
      const raw = readFileSync(`${limits.memoryDir}/memory.limit_in_bytes`, 'utf8');
      if (parseMemoryLimit(raw) !== undefined)
        expect(limits.memoryLimitBytes).toBeLessThanOrEqual(Number(raw));
    } else {
      expect(limits.version).toBe('v2');
      const unified = own.find((m) => m.hierarchy === 0)!;
      expect(limits.memoryDir).toBe(`/sys/fs/cgroup${unified.path === '/' ? '' : unified.path}`);
    }
  });
});
