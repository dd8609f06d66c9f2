import { describe, expect, it } from '@jest/globals';
import { formatDuration, ProgressBar } from './progress.js';

describe('ProgressBar', () => {
  it('estimates the time left from the average rate so far', () => {
    let now = 0;
    const bar = new ProgressBar('calibrate', 1000, undefined, 'share', () => now);
    now = 30_000;
    bar.update(250);
    // A quarter in 30 s: three quarters take 90 s more.
    expect(bar.render()).toBe('calibrate [######------------------]  25%, 1m 30s left');
  });

  it('gives no estimate before 2% is done, and none once finished', () => {
    let now = 0;
    const bar = new ProgressBar('calibrate', 1000, undefined, 'share', () => now);
    now = 1000;
    bar.update(10);
    expect(bar.render()).not.toMatch(/left/);
    bar.update(1000);
    expect(bar.render()).not.toMatch(/left/);
  });

  it('shows bytes with their rate for downloads', () => {
    let now = 0;
    const bar = new ProgressBar('pull', 4 * 1024 * 1024, undefined, 'bytes', () => now);
    now = 1000;
    bar.update(1024 * 1024);
    expect(bar.render()).toBe('pull [######------------------]  25% 1.0 MiB / 4.0 MiB 1.0 MiB/s, 3s left');
  });
});

describe('formatDuration', () => {
  it('writes seconds, minutes and hours as people read them', () => {
    expect([formatDuration(45), formatDuration(185), formatDuration(3720)]).toEqual([
      '45s',
      '3m 05s',
      '1h 02m',
    ]);
  });
});
