// The public API of @alki/fleet. Everything else is private.
export { FleetError } from './errors.js';
export type { FleetErrorCode } from './errors.js';

export { fleetSchemaV1 } from './inventory/schema.js';
export type {
  AnalysisSpec,
  CanaryStepSpec,
  DeviceEntry,
  ExperimentSpec,
  FleetSpec,
  GroupSpec,
  LabelSelector,
  Labels,
  RingSpec,
  ServerOverrides,
} from './inventory/fleet-spec.js';
export { MAX_FLEET_FILE_BYTES, parseFleet } from './inventory/parse-fleet.js';
export type { Locate, ParsedFleet, Position } from './inventory/parse-fleet.js';
export type { FleetProblem } from './inventory/problems.js';
export { expandDeviceRange, MAX_RANGE_SIZE } from './inventory/device-names.js';
export { formatSelector, matchesSelector } from './inventory/selector.js';
export {
  DEFAULT_ANALYSIS,
  DEFAULT_CANARY_STEPS,
  DEFAULT_PROMETHEUS_URL,
  DEFAULT_RUNTIME_PORT,
  hashCohort,
  PER_DEVICE_CLUSTER,
  resolveInventory,
} from './inventory/inventory.js';
export type {
  Inventory,
  InventoryDevice,
  InventoryExperiment,
  InventoryGroup,
  Reach,
} from './inventory/inventory.js';
export { loadFleet, resolveProfiles } from './inventory/load-fleet.js';
export type { ProfileResolver } from './inventory/load-fleet.js';

export { DIGEST_ANNOTATION, METRICS, POD_LABELS, promSelector, SERIES_LABELS } from './metrics/series.js';
export type { Matcher } from './metrics/series.js';

export { ANALYSIS_TEMPLATE_NAME, canaryChecks } from './plan/analysis.js';
export type { CanaryCheck } from './plan/analysis.js';
export { planFleet, requireDigest } from './plan/plan-fleet.js';
export { serverSettings } from './plan/server-settings.js';
export type { ServerSettings } from './plan/server-settings.js';
export { STRATEGIES } from './plan/types.js';
export type {
  DevicePlacement,
  FleetPlan,
  GroupProfile,
  PlannedFile,
  PlanOptions,
  Strategy,
} from './plan/types.js';
export { PLAN_MARKER, writePlan } from './plan/write-plan.js';
