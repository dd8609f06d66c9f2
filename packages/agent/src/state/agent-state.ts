import { syncDirectory } from '@alki/gguf-reader';
import { writeFileAtomic } from '@alki/oci';
import fs from 'node:fs';
import path from 'node:path';
import type { AgentPaths } from '../slots/agent-paths.js';

/** A bundle the agent holds in a slot. */
export interface SlotRecord {
  /** The OCI manifest digest it was pulled by. */
  digest: string;
  name: string;
  version: string;
}

/** Where an update stands; written before each step, so that a restarted agent knows what to finish. */
export type UpdatePhase =
  /** Fetching and verifying into a new slot; nothing served has changed. */
  | 'download'
  /** The `current` link is being moved to the new slot, or was. */
  | 'switch'
  /** The server is being restarted on the new slot and health-checked. */
  | 'restart'
  /** The new slot failed; the link is being moved back and the server restarted on the old slot. */
  | 'rollback';

/** What the last look at the channel found. */
export type CheckOutcome =
  /** The channel names what is served. */
  | 'up-to-date'
  /** The channel names a new bundle, now served and healthy. */
  | 'updated'
  /** The channel names a new bundle that failed its health check; the old one is served again. */
  | 'rolled-back'
  /** The channel names a bundle that failed here before; it is not tried again. */
  | 'denied'
  /** The look or the update failed (registry down, no space, untrusted bundle); see lastError. */
  | 'failed';

export interface DeniedDigest {
  digest: string;
  /** One sentence: why it was refused. */
  reason: string;
  at: string;
}

/** Everything the agent reports, in the state file and on /metrics. */
export interface AgentState {
  schema: 1;
  /** The channel followed, as given: `host/repo:tag` or `host/repo@sha256:...`. */
  channel: string;
  /** The bundle the `current` link names. */
  current?: SlotRecord;
  /** The bundle to roll back to: the last one that passed a health check here, other than current. */
  previous?: SlotRecord;
  /** Digests that passed a health check on this device, oldest first. */
  healthy: string[];
  /** Digests that failed here, skipped until the channel names another one. */
  denied: DeniedDigest[];
  /** The update in progress, if any. */
  update?: { digest: string; from?: string; phase: UpdatePhase; started: string };
  lastCheck?: { at: string; digest?: string; outcome: CheckOutcome };
  lastError?: { at: string; code: string; message: string };
  /** The last switch of the served bundle, with the time the server did not answer. */
  lastSwitch?: {
    at: string;
    from?: string;
    to: string;
    outcome: 'updated' | 'rolled-back';
    /** From stopping the old server to the first healthy answer of the new one. */
    restartWindowMs?: number;
  };
}

/** A fresh state for a channel. */
export function initialState(channel: string): AgentState {
  return { schema: 1, channel, healthy: [], denied: [] };
}

/**
 * The state file, or undefined when there is none or it cannot be read as a
 * state (the agent then rebuilds what it can from the slots and the link).
 */
export async function readState(paths: AgentPaths): Promise<AgentState | undefined> {
  let text: string;
  try {
    text = await fs.promises.readFile(paths.state, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const value = JSON.parse(text) as Partial<AgentState>;
    if (value.schema !== 1 || !Array.isArray(value.healthy) || !Array.isArray(value.denied)) return undefined;
    return value as AgentState;
  } catch {
    return undefined;
  }
}

/** Writes the state file atomically (temp file, rename) and flushes the directory entry. */
export async function writeState(paths: AgentPaths, state: AgentState): Promise<void> {
  await writeFileAtomic(paths.state, `${JSON.stringify(state, null, 2)}\n`);
  await syncDirectory(path.dirname(paths.state));
}
