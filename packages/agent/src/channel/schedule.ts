/** How often the channel is looked at, and how the agent backs off when that fails. */
export interface PollSchedule {
  /** Between two looks that worked. */
  intervalMs: number;
  /**
   * A fraction (0 to 1) of each delay added or taken at random, so that a
   * fleet started together does not ask the registry at the same second.
   */
  jitter: number;
  /** The first delay after a failure; each further failure doubles it. */
  retryMs: number;
  /** No delay is longer than this. */
  maxBackoffMs: number;
}

export const DEFAULT_SCHEDULE: PollSchedule = {
  intervalMs: 300_000,
  jitter: 0.2,
  retryMs: 10_000,
  maxBackoffMs: 3_600_000,
};

/**
 * The delay before the next look: the interval after a success, else the
 * retry delay doubled per consecutive failure, capped; either way spread by
 * the jitter. Pure: `random` is a number in [0, 1).
 *
 * @example
 * nextPollDelay(DEFAULT_SCHEDULE, 0, Math.random); // about 5 minutes, give or take 20%
 * nextPollDelay(DEFAULT_SCHEDULE, 3, Math.random); // about 40 s after a third failure in a row
 */
export function nextPollDelay(schedule: PollSchedule, failures: number, random: () => number): number {
  const base =
    failures === 0
      ? schedule.intervalMs
      : Math.min(schedule.maxBackoffMs, schedule.retryMs * 2 ** Math.min(failures - 1, 30));
  const spread = base * schedule.jitter * (2 * random() - 1);
  return Math.max(0, Math.min(schedule.maxBackoffMs, Math.round(base + spread)));
}
