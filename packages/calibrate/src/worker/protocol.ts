import type { PerplexitySummary, QualitySummary } from '../quality/kl-divergence.js';
import type { SpeedMeasurement, SpeedPlan } from '../speed/speed.js';

/** What the parent asks the node-llama-cpp child to do (JSON in argv). */
export type WorkerTask =
  | { kind: 'speed'; model: string; plan: SpeedPlan; textFile: string }
  | {
      kind: 'quality-base';
      model: string;
      textFile: string;
      nCtx: number;
      threads: number;
      chunks?: number;
      /** Where to write the reference distributions. */
      baseFile: string;
    }
  | { kind: 'quality-compare'; model: string; threads: number; baseFile: string };

/** Facts of the child's own run. */
export interface WorkerFacts {
  loadMs: number;
  peakRssBytes: number;
}

/** Messages the child sends over IPC; exactly one result or error ends it. */
export type WorkerMessage =
  | { type: 'progress'; done: number; total: number }
  | { type: 'speed'; result: SpeedMeasurement }
  | { type: 'perplexity'; summary: PerplexitySummary; facts: WorkerFacts }
  | { type: 'quality'; summary: QualitySummary; facts: WorkerFacts }
  | { type: 'error'; message: string };
