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
/** No estimate of the time left before this share is done: early rates mislead. */
const ETA_AFTER_FRACTION = 0.02;

/** How a bar counts: bytes (with a rate), plain items, or only a share of the work (no amounts). */
export type ProgressUnits = 'bytes' | 'count' | 'share';

function formatAmount(value: number, bytes: boolean): string {
  return bytes ? formatBytes(value) : String(value);
}

/** Seconds for people: `45s`, `3m 05s`, `1h 02m`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** A one-line progress bar on a TTY; a no-op when `stream` is undefined. */
export class ProgressBar implements ProgressReporter {
  private doneAmount = 0;
  private currentStep = '';
  private lastDraw = 0;
  private readonly started: number;

  constructor(
    private readonly label: string,
    private total: number | undefined,
    private readonly stream: (NodeJS.WritableStream & { columns?: number }) | undefined,
    private readonly units: ProgressUnits = 'bytes',
    private readonly now: () => number = Date.now,
  ) {
    this.started = now();
  }

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
    const bytes = this.units === 'bytes';
    const amount =
      this.units === 'share'
        ? ''
        : `${formatAmount(this.doneAmount, bytes)}${this.total ? ` / ${formatAmount(this.total, bytes)}` : ''}`;
    let bar = '';
    let left = '';
    if (this.total) {
      const fraction = Math.min(1, this.doneAmount / this.total);
      const filled = Math.round(fraction * BAR_WIDTH);
      bar = `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}%`;
      // The time left at the average rate so far.
      if (fraction >= ETA_AFTER_FRACTION && fraction < 1 && rate > 0)
        left = `, ${formatDuration((this.total - this.doneAmount) / rate)} left`;
    }
    const speed = bytes && rate > 0 ? ` ${formatAmount(rate, true)}/s` : '';
    const step = this.currentStep ? ` ${this.currentStep}` : '';
    return `${this.label} ${[bar, amount].filter(Boolean).join(' ')}${speed}${left}${step}`;
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
