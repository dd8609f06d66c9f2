import { describe, expect, it } from '@jest/globals';
import { samplePoint, SampleRing, type MetricsReading } from './samples.js';

const reading = (at: number, fields: Partial<MetricsReading> = {}): MetricsReading => ({
  at,
  requests: 0,
  errors: 0,
  completionTokens: 0,
  firstTokenSum: 0,
  firstTokenCount: 0,
  rssBytes: 100,
  ...fields,
});

describe('SampleRing', () => {
  it('keeps the newest items, oldest first, once it is full', () => {
    const ring = new SampleRing<number>(3);
    expect(ring.toArray()).toEqual([]);
    ring.push(1);
    ring.push(2);
    expect(ring.toArray()).toEqual([1, 2]);
    for (const n of [3, 4, 5, 6, 7]) ring.push(n);
    expect(ring.toArray()).toEqual([5, 6, 7]);
  });

  it('holds an hour of 10-second samples and never more', () => {
    const ring = new SampleRing<number>(360);
    for (let n = 0; n < 1000; n++) ring.push(n);
    const items = ring.toArray();
    expect(items).toHaveLength(360);
    expect(items[0]).toBe(640);
    expect(items[359]).toBe(999);
  });

  it('refuses a capacity below one', () => {
    expect(() => new SampleRing(0)).toThrow(RangeError);
    expect(() => new SampleRing(2.5)).toThrow(RangeError);
  });
});

describe('samplePoint', () => {
  it('turns two readings into tokens per second and the mean time to first token of the interval', () => {
    const previous = reading(10_000, {
      requests: 4,
      completionTokens: 100,
      firstTokenSum: 1,
      firstTokenCount: 4,
    });
    const current = reading(20_000, {
      requests: 6,
      errors: 1,
      completionTokens: 150,
      firstTokenSum: 1.6,
      firstTokenCount: 6,
      rssBytes: 4096,
    });
    const point = samplePoint(previous, current);
    expect(point).toMatchObject({
      at: 20_000,
      requests: 6,
      errors: 1,
      requestsPerMinute: 12,
      tokensPerSecond: 5,
      rssBytes: 4096,
    });
    expect(point.firstTokenSeconds).toBeCloseTo(0.3, 10);
  });

  it('gives no time to first token for an idle interval, and zero rates', () => {
    const point = samplePoint(reading(0, { requests: 2 }), reading(10_000, { requests: 2 }));
    expect(point.firstTokenSeconds).toBeNull();
    expect(point.tokensPerSecond).toBe(0);
    expect(point.requestsPerMinute).toBe(0);
  });

  it('gives zero rates for readings taken at the same moment', () => {
    const point = samplePoint(reading(5), reading(5, { completionTokens: 9, requests: 1 }));
    expect(point.tokensPerSecond).toBe(0);
    expect(point.requestsPerMinute).toBe(0);
  });
});
