import type { CheckName, ValidationCheck, ModelMetrics } from './report.js';

/** What the parent tells the validation child to do (JSON in argv). */
export interface WorkerRequest {
  modelPath: string;
  prompt: string;
  maxTokens: number;
  contextSize: number;
  threads: number;
  score: boolean;
}

/** Messages the child sends over IPC, in order. */
export type WorkerMessage =
  | { type: 'start'; check: CheckName }
  | { type: 'result'; result: ValidationCheck }
  | { type: 'done'; metrics: ModelMetrics; sample?: string };
