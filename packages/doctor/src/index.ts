// The public API of @alki/doctor. Everything else is private.
export { runDoctor } from './run-doctor.js';
export type { DoctorOptions } from './run-doctor.js';
export { systemProbes } from './probes.js';
export type { DoctorProbes, SystemProbeOptions } from './probes.js';
export type { BindingProbe, CheckResult, CheckStatus, DoctorReport, RunResult } from './types.js';
