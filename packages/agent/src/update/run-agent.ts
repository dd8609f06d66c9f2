import { abortableSleep, type Sleep } from '@alki/oci';
import { DEFAULT_SCHEDULE, nextPollDelay, type PollSchedule } from '../channel/schedule.js';
import { UpdateAgent, type AgentOptions } from './update-agent.js';

export interface RunAgentOptions extends AgentOptions {
  schedule?: PollSchedule;
  /** Stops the loop; the supervised server is stopped too. */
  signal?: AbortSignal;
  random?: () => number;
  sleep?: Sleep;
}

/**
 * Runs an agent until the signal fires: finishes what a killed agent left,
 * then looks at the channel on the schedule (the interval after a look that
 * worked, backing off after failures, with jitter), and updates or rolls
 * back as each look calls for. On the signal, the server it supervises is
 * stopped and the directory released.
 *
 * @example
 * const stop = new AbortController();
 * await runAgent({ channel, client, dir: '/var/lib/alki/tiny', service, signal: stop.signal });
 */
export async function runAgent(options: RunAgentOptions): Promise<void> {
  const { signal } = options;
  const schedule = options.schedule ?? DEFAULT_SCHEDULE;
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? abortableSleep;
  const agent = new UpdateAgent(options);
  await agent.start(signal);
  let failures = 0;
  try {
    while (!signal?.aborted) {
      const outcome = await agent.check(signal).catch((error: unknown) => {
        if (signal?.aborted) return 'failed' as const;
        throw error;
      });
      failures = outcome === 'failed' ? failures + 1 : 0;
      if (signal?.aborted) break;
      // The sleep rejects when the signal fires: that is a stop, not a failure.
      await sleep(nextPollDelay(schedule, failures, random), signal).catch((error: unknown) => {
        if (!signal?.aborted) throw error;
      });
    }
  } finally {
    await agent.stop();
  }
}
