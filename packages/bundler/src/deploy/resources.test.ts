import { describe, expect, it } from '@jest/globals';
import { estimateMemory, slotsThatFit } from './resources.js';

const MIB = 1024 * 1024;
// 1 MiB of KV cache per 64 tokens: a 4096-token slot holds 64 MiB.
const facts = { kvCacheBytesPerToken: MIB / 64 };

describe('estimateMemory', () => {
  it('counts a KV cache of the whole context for every slot', () => {
    const one = estimateMemory(facts, 100 * MIB, 4096);
    const four = estimateMemory(facts, 100 * MIB, 4096, 4);
    expect(one.kvCacheBytes).toBe(64 * MIB);
    expect(four.kvCacheBytes).toBe(256 * MIB);
    expect(four.requestMiB - one.requestMiB).toBe(192);
  });
});

describe('slotsThatFit', () => {
  it('keeps every slot asked for when they fit beside the model and the overhead', () => {
    expect(slotsThatFit(facts, 100 * MIB, 4096, 4, 2048 * MIB)).toBe(4);
  });

  it('starts fewer slots when memory is short, as many as fit', () => {
    // 100 MiB model + 256 MiB overhead leave 160 MiB: two slots of 64 MiB.
    expect(slotsThatFit(facts, 100 * MIB, 4096, 4, 516 * MIB)).toBe(2);
  });

  it('never starts fewer than one slot', () => {
    expect(slotsThatFit(facts, 100 * MIB, 4096, 4, 50 * MIB)).toBe(1);
  });
});
