// The update agent's state as the dashboard shows it. The agent (alki agent
// --exec) names its state.json in ALKI_AGENT_STATE; the file is read on every
// poll, and the agent may be rewriting it at that moment, so whatever is
// missing or malformed is left out rather than failing the page.
import { readFile } from 'node:fs/promises';

/** What the dashboard shows of the agent's state file. */
export interface AgentStatus {
  /** `ok`: the file was read; `missing`: there is none yet; `unreadable`: it is not a state file. */
  status: 'ok' | 'missing' | 'unreadable';
  channel?: string;
  current?: { digest: string; name?: string; version?: string };
  lastCheck?: { at: string; outcome: string; digest?: string };
  lastError?: { at: string; code: string; message: string };
  /** The update in progress, if any. */
  update?: { digest: string; phase: string; started: string };
}

// A state file is a few KiB; anything far larger is not one.
const MAX_STATE_BYTES = 1024 * 1024;

type Fields = Record<string, unknown>;

const isObject = (value: unknown): value is Fields =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The named fields of `value` that are strings; undefined when a required one is not. */
function strings<K extends string, O extends string = never>(
  value: unknown,
  required: readonly K[],
  optional: readonly O[] = [],
): (Record<K, string> & Partial<Record<O, string>>) | undefined {
  if (!isObject(value)) return undefined;
  const picked: Record<string, string> = {};
  for (const key of required) {
    if (typeof value[key] !== 'string') return undefined;
    picked[key] = value[key];
  }
  for (const key of optional) if (typeof value[key] === 'string') picked[key] = value[key];
  return picked as Record<K, string> & Partial<Record<O, string>>;
}

/**
 * The agent's status from the text of its state file (schema 1 of
 * @alki/agent's AgentState). Pure; a field of the wrong shape is dropped.
 */
export function parseAgentStatus(text: string): AgentStatus {
  let state: unknown;
  try {
    state = JSON.parse(text);
  } catch {
    return { status: 'unreadable' };
  }
  if (!isObject(state) || state.schema !== 1) return { status: 'unreadable' };
  const status: AgentStatus = { status: 'ok' };
  if (typeof state.channel === 'string') status.channel = state.channel;
  const current = strings(state.current, ['digest'], ['name', 'version']);
  if (current) status.current = current;
  const lastCheck = strings(state.lastCheck, ['at', 'outcome'], ['digest']);
  if (lastCheck) status.lastCheck = lastCheck;
  const lastError = strings(state.lastError, ['at', 'code', 'message']);
  if (lastError) status.lastError = lastError;
  const update = strings(state.update, ['digest', 'phase', 'started']);
  if (update) status.update = update;
  return status;
}

/** Reads and parses the agent's state file; a missing or unreadable file is a status, never an error. */
export async function readAgentStatus(
  file: string,
  read: (file: string) => Promise<Buffer> = (name) => readFile(name),
): Promise<AgentStatus> {
  let bytes: Buffer;
  try {
    bytes = await read(file);
  } catch (error) {
    return { status: (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'unreadable' };
  }
  if (bytes.length > MAX_STATE_BYTES) return { status: 'unreadable' };
  return parseAgentStatus(bytes.toString('utf8'));
}
