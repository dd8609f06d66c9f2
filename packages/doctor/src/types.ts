/** ok: present and working; warn: works, with a caveat, or missing but no chosen command needs it; fail: a command needs it. */
export type CheckStatus = 'ok' | 'warn' | 'fail';

/** One line of the doctor's report. */
export interface CheckResult {
  /** Stable id, e.g. `containers.init`. */
  id: string;
  /** Short name for the report's first column. */
  title: string;
  status: CheckStatus;
  /** What was found (never a secret: tokens and passwords are named by where they come from). */
  detail: string;
  /** What to run to fix it, when it is not ok. */
  fix?: string;
  /** The alki commands that cannot work without it. */
  neededBy: string[];
}

/** The whole report: ok when no check failed. */
export interface DoctorReport {
  ok: boolean;
  checks: CheckResult[];
}

/** The result of running a program. */
export interface RunResult {
  /** Exit status; null when it was killed or could not start. */
  status: number | null;
  stdout: string;
  stderr: string;
  /** Why it could not run or finish (ENOENT, a timeout, a signal). */
  error?: string;
}

/** What loading node-llama-cpp's binding in a child process showed. */
export type BindingProbe =
  | {
      loaded: true;
      /** llama.cpp's llama_print_system_info line: the CPU features the loaded binary uses. */
      systemInfo: string;
      /** The llama.cpp release the binding was built from (`v0.4.0`). */
      release: string;
      buildType: string;
      nodeLlamaCppVersion: string;
    }
  | { loaded: false; error: string };
