/** How a new bundle reaches the fleet. */
export type Strategy = 'rolling' | 'canary' | 'ab';

export const STRATEGIES: readonly Strategy[] = ['rolling', 'canary', 'ab'];

/**
 * What the plan needs to know about a group's hardware, taken from a
 * calibration profile or a catalogue device class.
 */
export interface GroupProfile {
  /** Where it came from, for people: `profile profiles/n100.json`, `device class rpi5`. */
  source: string;
  architecture: 'x86_64' | 'aarch64' | 'unknown';
  /** Cores a model server may use. */
  cores: number;
  /** Memory of the device, in bytes. */
  memoryBytes: number;
  /** The profile's recommended settings, when it has some (a device class has none). */
  recommended?: {
    quant: string;
    ctx: number;
    threads: number;
    batch: number;
    /** Measured memory of that quant at that context, when the profile has it. */
    memoryBytes?: number;
  };
}

export interface FleetPlanOptions {
  strategy: Strategy;
  /** The bundle every device runs (cohort A in an A/B test): `registry/repo@sha256:...`. */
  bundle: string;
  /** Cohort B's bundle, for `ab`. */
  bundleB?: string;
  /** The experiment of the fleet file that defines the cohorts, for `ab`; the only one when absent. */
  experiment?: string;
}

/** One file of the GitOps tree: a path relative to the tree's root, and its bytes. */
export interface PlannedFile {
  path: string;
  text: string;
}

/** Where one device lands in the plan. */
export interface DevicePlacement {
  device: string;
  group: string;
  ring?: string;
  /** `a` or `b` in an A/B test; absent otherwise, and for devices outside the experiment. */
  variant?: 'a' | 'b';
  /** The folder of the tree that deploys it (a kustomize overlay, or a systemd host folder). */
  overlay: string;
  bundle: string;
}

/** The rendered plan: its files (sorted by path) and where every device lands. */
export interface FleetPlan {
  files: PlannedFile[];
  placements: DevicePlacement[];
}
