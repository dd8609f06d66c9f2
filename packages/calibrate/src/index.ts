// The public API of @alki/calibrate. Everything else is private.
export { CalibrateError } from './errors.js';
export type { CalibrateErrorCode } from './errors.js';

export { measureMemoryBandwidth } from './probe/bandwidth.js';
export type { BandwidthMeasurement, BandwidthOptions } from './probe/bandwidth.js';
export {
  countCpuList,
  parseCfsQuota,
  parseCpuMax,
  parseMemoryLimit,
  parseMountInfo,
  parseProcCgroup,
  readCgroupLimits,
} from './probe/cgroup.js';
export type { CgroupLimits, CgroupMembership, CgroupMount, ReadText } from './probe/cgroup.js';
export { parseCpuInfo } from './probe/cpuinfo.js';
export type { CpuArchitecture, CpuInfo, SimdFeature } from './probe/cpuinfo.js';
export { probeGpus } from './probe/gpu.js';
export type { GpuProbe, LoadLlama } from './probe/gpu.js';
export { parseMemInfo } from './probe/meminfo.js';
export type { MemInfo } from './probe/meminfo.js';
export { probeHardware } from './probe/probe.js';
export type { HardwareProbe, ProbeOptions } from './probe/probe.js';
