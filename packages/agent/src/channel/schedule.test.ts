import { describe, expect, it } from '@jest/globals';
import { nextPollDelay, type PollSchedule } from './schedule.js';

const schedule: PollSchedule = { intervalMs: 60_000, jitter: 0.2, retryMs: 1_000, maxBackoffMs: 3_600_000 };
const capped: PollSchedule = { ...schedule, maxBackoffMs: 30_000 };

describe('nextPollDelay', () => {
  it('waits the interval after a look that worked, spread by the jitter both ways', () => {
    expect(nextPollDelay(schedule, 0, () => 0.5)).toBe(60_000);
    expect(nextPollDelay(schedule, 0, () => 0)).toBe(48_000);
    expect(nextPollDelay(schedule, 0, () => 0.999_999)).toBe(72_000);
  });

  it('doubles the retry delay per failure in a row, up to the cap', () => {
    const middle = () => 0.5;
    expect([1, 2, 3, 4, 5, 6, 7].map((failures) => nextPollDelay(capped, failures, middle))).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000,
    ]);
  });

  it('never exceeds the cap, jitter included, even after very many failures', () => {
    expect(nextPollDelay(capped, 10_000, () => 0.999_999)).toBe(30_000);
    expect(nextPollDelay(capped, 0, () => 0.5)).toBe(30_000);
  });
});
