// The public API of @alki/fleet. Everything else is private.
export { FleetError } from './errors.js';
export type { FleetErrorCode } from './errors.js';

export { fleetSchemaV1 } from './inventory/schema.js';
export type {
  AnalysisSpec,
  CanaryCheckName,
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
  FleetPlanOptions,
  Strategy,
} from './plan/types.js';
export { PLAN_MARKER, writePlan } from './plan/write-plan.js';

export { calibrateProfiles, groupProfileOf, groupProfileOfDevice } from './inventory/calibrate-profiles.js';

export { parseDuration } from './report/duration.js';
export { prometheusApi } from './report/prometheus-api.js';
export type {
  InstantSample,
  PrometheusApi,
  PrometheusApiOptions,
  RangeSeries,
} from './report/prometheus-api.js';
export { histogramQuantile } from './report/histogram.js';
export type { CumulativeHistogram } from './report/histogram.js';
export { COHORTS } from './report/collect.js';
export type { Cohort, CohortData, ReportWindow } from './report/collect.js';
export { compareCohorts, formatP } from './report/compare.js';
export type {
  BucketSeries,
  CohortSummary,
  ExperimentReport,
  LatencySummary,
  MetricComparison,
  MetricName,
} from './report/compare.js';
export {
  DEFAULT_ALPHA,
  DEFAULT_REPORT_STEP_SECONDS,
  DEFAULT_REPORT_WINDOW_SECONDS,
  reportExperiment,
} from './report/report-experiment.js';
export type { ExperimentReportOptions } from './report/report-experiment.js';
export { renderExperimentHtml } from './report/experiment-html.js';
export { renderHtmlReport } from './report/html-report.js';
export type { HtmlChart, HtmlReport, HtmlTable } from './report/html-report.js';
export { holmAdjust, mannWhitneyBinned, twoProportionTest, welchTTest } from './report/statistics.js';
export type { MannWhitneyResult, ProportionsResult, WelchResult } from './report/statistics.js';

export {
  DEFAULT_STATUS_CONCURRENCY,
  DEFAULT_STATUS_INTERVAL_MS,
  DEFAULT_STATUS_RETRIES,
  DEFAULT_STATUS_TIMEOUT_MS,
  fleetStatus,
} from './status/fleet-status.js';
export type {
  DeviceRates,
  DeviceState,
  DeviceStatus,
  FleetStatus,
  StatusOptions,
} from './status/fleet-status.js';
