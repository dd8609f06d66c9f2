import { describe, expect, it } from '@jest/globals';
import { Pool } from './sequence-pool.js';

describe('Pool', () => {
  it('hands out items first come, first served, and queues the rest in order', async () => {
    const pool = new Pool(['a']);
    const first = await pool.acquire();
    const order: string[] = [];
    const second = pool.acquire().then((item) => order.push(`second:${item}`));
    const third = pool.acquire().then((item) => order.push(`third:${item}`));
    expect(pool.queued).toBe(2);
    pool.release(first);
    await second;
    pool.release('a');
    await third;
    expect(order).toEqual(['second:a', 'third:a']);
  });

  it('drops a waiter whose signal aborts, with the signal reason', async () => {
    const pool = new Pool(['a']);
    await pool.acquire();
    const controller = new AbortController();
    const waiting = pool.acquire(controller.signal);
    controller.abort(new Error('client left'));
    await expect(waiting).rejects.toThrow('client left');
    expect(pool.queued).toBe(0);
  });
});
