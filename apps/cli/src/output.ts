import { ProgressBar, type ProgressReporter, type ProgressUnits } from './progress.js';

export interface OutputOptions {
  json: boolean;
  quiet: boolean;
  verbose: boolean;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
}

/**
 * Every command writes through this. Results go to stdout (JSON with --json);
 * human messages and progress go to stderr, so `alki x --json | jq` works.
 */
export class Output {
  readonly json: boolean;
  readonly quiet: boolean;
  readonly verbose: boolean;
  private readonly stdout: NodeJS.WritableStream;
  private readonly stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

  constructor(options: OutputOptions) {
    this.json = options.json;
    this.quiet = options.quiet;
    this.verbose = options.verbose;
    this.stdout = options.stdout ?? process.stdout;
    this.stderr = options.stderr ?? process.stderr;
  }

  /** A status line for people, on stderr; silent with --quiet or --json. */
  info(message: string): void {
    if (!this.quiet && !this.json) this.stderr.write(`${message}\n`);
  }

  /** Detail shown only with --verbose. */
  debug(message: string): void {
    if (this.verbose) this.stderr.write(`${message}\n`);
  }

  /** A warning, on stderr, shown unless --quiet. */
  warn(message: string): void {
    if (!this.quiet) this.stderr.write(`warning: ${message}\n`);
  }

  /** An error line, on stderr, always shown. */
  error(message: string): void {
    this.stderr.write(`${message}\n`);
  }

  /**
   * The command's result: `data` as JSON on stdout with --json, otherwise the
   * human rendering on stdout. --quiet keeps it: it silences the messages
   * around a result (docs/cli.md: "print only results and errors").
   */
  result(data: unknown, human: () => string): void {
    if (this.json) {
      this.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
      return;
    }
    const text = human();
    if (text) this.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /**
   * One event of a long-running command (a decision of `alki agent`): a
   * compact JSON line on stdout with --json, so a log collector reads one
   * object per line, otherwise the human line on stderr unless --quiet.
   */
  event(data: unknown, human: string): void {
    if (this.json) this.stdout.write(`${JSON.stringify(data)}\n`);
    else this.info(human);
  }

  /**
   * A progress reporter for long work. It draws a bar only when stderr is a
   * terminal and neither --json nor --quiet is set; otherwise it is silent.
   */
  progress(label: string, total?: number, units: ProgressUnits = 'bytes'): ProgressReporter {
    const enabled = Boolean(this.stderr.isTTY) && !this.json && !this.quiet;
    return new ProgressBar(label, total, enabled ? this.stderr : undefined, units);
  }
}
