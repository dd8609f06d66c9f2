// The fleet file as written (apiVersion alki.dev/v1), after schema
// validation. docs/fleet.md describes it for people; schema.ts is the JSON
// Schema these types mirror.

/** Label key to value. Keys and values follow Kubernetes label syntax. */
export type Labels = Record<string, string>;

/** Label key to one value or a list of accepted values; every key must match. */
export type LabelSelector = Record<string, string | string[]>;

/** One entry of a group's `devices`: a name, a name with labels, or a numbered range of names. */
export type DeviceEntry =
  string | { name: string; labels?: Labels; endpoint?: string } | { range: string; labels?: Labels };

/** Server settings a group sets over its profile's recommendation. */
export interface ServerOverrides {
  quant?: string;
  ctx?: number;
  parallel?: number;
  threads?: number;
  batch?: number;
}

export interface GroupSpec {
  name: string;
  labels?: Labels;
  /** Exactly one of the two. */
  hardware: { profile?: string; deviceClass?: string };
  server?: ServerOverrides;
  /** Exactly one of the two. */
  reach: { k3s?: { cluster: string }; systemd?: { unit?: string } };
  endpoint?: string;
  devices: DeviceEntry[];
}

export interface RingSpec {
  name: string;
  /** Absent: every device no earlier ring took. */
  selector?: LabelSelector;
}

export interface ExperimentSpec {
  name: string;
  selector?: LabelSelector;
  split: { by: 'hash' | 'label'; percentB?: number; selectorB?: LabelSelector };
}

export interface CanaryStepSpec {
  weight: number;
  pause?: string;
}

export interface AnalysisSpec {
  interval?: string;
  window?: string;
  maxErrorRateIncrease?: number;
  maxTimeToFirstTokenRatio?: number;
  minTokensPerSecondRatio?: number;
  checks?: CanaryCheckName[];
}

/** The checks of the canary analysis. */
export type CanaryCheckName =
  'error-rate-increase' | 'time-to-first-token-p95-ratio' | 'tokens-per-second-ratio';

/** A fleet file. */
export interface FleetSpec {
  apiVersion: 'alki.dev/v1';
  kind: 'Fleet';
  name: string;
  runtime: { image: string; port?: number };
  gitops?: { repo: string; revision?: string; path?: string; project?: string };
  prometheus?: { url: string };
  canary?: { steps?: CanaryStepSpec[] };
  analysis?: AnalysisSpec;
  groups: GroupSpec[];
  rings?: RingSpec[];
  experiments?: ExperimentSpec[];
}
