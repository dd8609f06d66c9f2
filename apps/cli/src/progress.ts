import { formatBytes } from './format.js';

/** What a library's `onProgress` callback is wired to. */
export interface ProgressReporter {
  /** Sets the amount done, and the total when it becomes known. */
  update(done: number, total?: number): void;
  /** Names the current step, for example a tensor or file name. */
  step(label: string): void;
  done(): void;
}

const REDRAW_INTERVAL_MS = 100;
const BAR_WIDTH = 24;

function formatAmount(value: number, bytes: boolean): string {
  return bytes ? formatBytes(value) : String(value);
}

/** A one-line progress bar on a TTY; a no-op when `stream` is undefined. */
export class ProgressBar implements ProgressReporter {
  private doneAmount = 0;
  private currentStep = '';
  private lastDraw = 0;
  private readonly started = Date.now();

  constructor(
    private readonly label: string,
    private total: number | undefined,
    private readonly stream: (NodeJS.WritableStream & { columns?: number }) | undefined,
    private readonly bytes = true,
    private readonly now: () => number = Date.now,
  ) {}

  update(done: number, total?: number): void {
    this.doneAmount = done;
    if (total !== undefined) this.total = total;
    this.draw(false);
  }

  step(label: string): void {
    this.currentStep = label;
    this.draw(false);
  }

  done(): void {
    if (!this.stream) return;
    if (this.total !== undefined) this.doneAmount = this.total;
    this.draw(true);
    this.stream.write('\n');
  }

  /** The line as it would be drawn; exposed for tests. */
  render(): string {
    const elapsed = (this.now() - this.started) / 1000;
    const rate = elapsed > 0 ? this.doneAmount / elapsed : 0;
    const amount = `${formatAmount(this.doneAmount, this.bytes)}${this.total ? ` / ${formatAmount(this.total, this.bytes)}` : ''}`;
    let bar = '';
    if (this.total) {
      const fraction = Math.min(1, this.doneAmount / this.total);
      const filled = Math.round(fraction * BAR_WIDTH);
      bar = `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% `;
    }
    const speed = this.bytes && rate > 0 ? ` ${formatAmount(rate, true)}/s` : '';
    const step = this.currentStep ? ` ${this.currentStep}` : '';
    return `${this.label} ${bar}${amount}${speed}${step}`;
  }

  private draw(force: boolean): void {
    if (!this.stream) return;
    const now = this.now();
    if (!force && now - this.lastDraw < REDRAW_INTERVAL_MS) return;
    this.lastDraw = now;
    const width = this.stream.columns ?? 100;
    this.stream.write(
      `\r${this.render()
        .slice(0, width - 1)
        .padEnd(width - 1)}`,
    );
  }
}
