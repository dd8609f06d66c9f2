// The public API of @alki/calibrate. Everything else is private.
export { CalibrateError } from './errors.js';
export type { CalibrateErrorCode } from './errors.js';

export { bufferBytesFor, measureMemoryBandwidth } from './probe/bandwidth.js';
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
export type { FindGpuTypes, GpuProbe, GpuProbeOptions, LoadLlama } from './probe/gpu.js';
export { parseMemInfo } from './probe/meminfo.js';
export type { MemInfo } from './probe/meminfo.js';
export { probeHardware } from './probe/probe.js';
export type { HardwareProbe, ProbeOptions, ProbePhase } from './probe/probe.js';

export { calibrate } from './calibrate.js';
export type {
  Calibration,
  CalibrationProgress,
  CalibrationText,
  CalibrateOptions,
  ContextMemory,
  EngineChoice,
  ModelCalibration,
  ModelQuality,
  PhaseTiming,
  QualityEngine,
} from './calibrate.js';
export { defaultCacheDir, resolveModels } from './models/resolve-models.js';
export type { CalibrationModel, ResolvedModels, ResolveModelsOptions } from './models/resolve-models.js';
export { perplexityChunks } from './quality/chunks.js';
export type { PerplexityChunks } from './quality/chunks.js';
export {
  BASE_LOG_PROB_FLOOR,
  baseDistribution,
  perplexityOf,
  QualityAccumulator,
  scorePosition,
} from './quality/kl-divergence.js';
export type {
  BaseDistribution,
  Estimate,
  PerplexitySummary,
  PositionScore,
  Probabilities,
  QualitySummary,
} from './quality/kl-divergence.js';
export { parseKlDivergenceRun, parsePerplexityRun } from './quality/llama-perplexity.js';
export { BUILT_IN_TEXT, builtInTextFile } from './quality/text.js';
export { recommend } from './recommend/recommend.js';
export type {
  CandidateInput,
  ConstraintName,
  Constraints,
  Recommendation,
  RecommendInput,
  RecommendResult,
  Rejection,
} from './recommend/recommend.js';
export { parseLlamaBenchJsonl } from './speed/llama-bench.js';
export { candidateThreads } from './speed/speed.js';
export type { SpeedEngine, SpeedMeasurement, SpeedPlan, SpeedSample } from './speed/speed.js';
export {
  parseProfile,
  profileAccelerator,
  profileSettings,
  readProfile,
  toProfile,
  writeProfile,
} from './profile/profile.js';
export type {
  CalibrationProfile,
  ProfileDevice,
  ProfileHardware,
  ProfileMeasurement,
  ProfileSettings,
} from './profile/profile.js';
export { profileSchemaV1 } from './profile/schema.js';
export { parseByteSize } from './units/byte-size.js';
export { deviceCatalogue, deviceCatalogueFile, findDevice } from './devices/catalogue.js';
export type { DeviceProfile } from './devices/catalogue.js';
export { createLimitedScope } from './emulate/limits.js';
export type { CgroupFs, LimitedScope, MemoryUsage, ResourceLimits } from './emulate/limits.js';
export {
  deviceMachine,
  GENERATION_BANDWIDTH_EFFICIENCY,
  GENERATION_COMPUTE_EFFICIENCY,
  hostMachine,
  predictSpeed,
  SUSTAINED_BANDWIDTH_SHARE,
} from './emulate/predict.js';
export type { MachineModel, ModelSize, SpeedPrediction } from './emulate/predict.js';
export { emulationLimits } from './calibrate.js';
export type { Emulation } from './calibrate.js';
export {
  escapeHtml,
  loadChartJs,
  renderReport,
  reportSeries,
  scriptJson,
  writeReport,
} from './report/html-report.js';
export type { ReportOptions, ReportSeries } from './report/html-report.js';
