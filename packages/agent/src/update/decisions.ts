// The agent's decisions as pure functions of its state: what to do with the
// digest a channel names, what to finish after a restart, which slots to
// delete. The shell (agent.ts) does the I/O they call for.
import type { AgentState, DeniedDigest } from '../state/agent-state.js';

/** What to do with the digest the channel names now. */
export type CheckPlan =
  | { action: 'up-to-date' }
  | { action: 'denied'; entry: DeniedDigest }
  | { action: 'update'; digest: string; from?: string };

/**
 * The deny list once the channel names `digest`: a digest that failed stays
 * denied while the channel still names it, and is forgotten once another
 * appears. Pure.
 */
export function denialsFor(state: AgentState, digest: string): DeniedDigest[] {
  return state.denied.filter((entry) => entry.digest === digest);
}

/**
 * Compares the channel's digest with what is served: nothing to do, a digest
 * that failed here before, or an update. Pure.
 *
 * @example
 * planCheck(state, 'sha256:...'); // { action: 'update', digest: 'sha256:...', from: 'sha256:...' }
 */
export function planCheck(state: AgentState, digest: string): CheckPlan {
  if (state.current?.digest === digest) return { action: 'up-to-date' };
  const denied = state.denied.find((entry) => entry.digest === digest);
  if (denied) return { action: 'denied', entry: denied };
  return { action: 'update', digest, ...(state.current ? { from: state.current.digest } : {}) };
}

/** What a starting agent must do before it looks at the channel. */
export type RecoveryPlan =
  /** The link names a slot that was never confirmed healthy here: restart on it and health-check it. */
  | { action: 'confirm'; digest: string; from?: string }
  /** A rollback was under way: move the link back to `from` and deny `digest`. */
  | { action: 'roll-back'; digest: string; from?: string }
  /** Keep serving what the link names (adopting a server that still runs). */
  | { action: 'serve'; digest: string }
  /** No link: point one at the newest slot that was healthy here. */
  | { action: 'relink'; digest: string }
  /** Nothing to serve yet: the first look at the channel installs something. */
  | { action: 'none' };

/**
 * Reads the state a killed or crashed agent left, and the digest its
 * `current` link names, and says what to finish. The link is the truth about
 * what is served; the state's update record says whether it was confirmed.
 * Pure.
 *
 * @example
 * planRecovery({ ...state, update: { digest: 'sha256:b...', from: 'sha256:a...', phase: 'restart', started } }, 'sha256:b...');
 * // { action: 'confirm', digest: 'sha256:b...', from: 'sha256:a...' }
 */
export function planRecovery(
  state: AgentState,
  linked: string | undefined,
  slots: readonly string[],
): RecoveryPlan {
  const update = state.update;
  const from = update?.from !== undefined && slots.includes(update.from) ? update.from : undefined;
  if (update?.phase === 'rollback')
    return { action: 'roll-back', digest: update.digest, ...(from ? { from } : {}) };
  if (update && update.phase !== 'download' && linked === update.digest)
    return { action: 'confirm', digest: update.digest, ...(from ? { from } : {}) };
  if (linked !== undefined && slots.includes(linked)) {
    // A link to a slot that never passed here (a state file lost with a power cut) is checked like a new one.
    if (!state.healthy.includes(linked)) {
      const fallback = [...state.healthy]
        .reverse()
        .find((digest) => digest !== linked && slots.includes(digest));
      return { action: 'confirm', digest: linked, ...(fallback ? { from: fallback } : {}) };
    }
    return { action: 'serve', digest: linked };
  }
  const newest = [...state.healthy].reverse().find((digest) => slots.includes(digest));
  return newest ? { action: 'relink', digest: newest } : { action: 'none' };
}

/**
 * The slots to delete so that at most `keep` remain: the ones in `protect`
 * stay whatever their age, then the most recently used others fill what is
 * left. Pure.
 *
 * @example
 * slotsToRemove([{ digest: 'a', usedMs: 1 }, { digest: 'b', usedMs: 2 }, { digest: 'c', usedMs: 3 }], ['a'], 2); // ['b']
 */
export function slotsToRemove(
  slots: ReadonlyArray<{ digest: string; usedMs: number }>,
  protect: readonly string[],
  keep: number,
): string[] {
  const kept = new Set(protect.filter((digest) => slots.some((slot) => slot.digest === digest)));
  const others = slots.filter((slot) => !kept.has(slot.digest)).sort((a, b) => b.usedMs - a.usedMs);
  for (const slot of others) {
    if (kept.size >= keep) break;
    kept.add(slot.digest);
  }
  return slots.filter((slot) => !kept.has(slot.digest)).map((slot) => slot.digest);
}
