import path from 'node:path';

/** Where an agent keeps everything, under one directory on one file system (renames must be atomic). */
export interface AgentPaths {
  root: string;
  /** Complete, verified bundles, one directory per manifest digest. */
  slots: string;
  /** The symbolic link the server is started through: it names the slot being served. */
  current: string;
  /** The agent's state, rewritten atomically after every decision. */
  state: string;
  /** Held by the running agent (its PID), so that two agents never share a directory. */
  lock: string;
  /** Where the server the agent supervises writes its output (a file, so that it outlives the agent). */
  serverLog: string;
}

/**
 * The paths of an agent directory.
 *
 * @example
 * const paths = agentPaths('/var/lib/alki/qwen3');
 * paths.current; // /var/lib/alki/qwen3/current
 */
export function agentPaths(root: string): AgentPaths {
  const dir = path.resolve(root);
  return {
    root: dir,
    slots: path.join(dir, 'slots'),
    current: path.join(dir, 'current'),
    state: path.join(dir, 'state.json'),
    lock: path.join(dir, 'agent.lock'),
    serverLog: path.join(dir, 'server.log'),
  };
}

// `sha256-<hex>` as the directory name of a digest: `:` is awkward in paths
// (systemd specifiers, PATH-like lists), and the form is the OCI referrers
// tag schema's.
const SLOT_NAME = /^sha256-([a-f0-9]{64})$/;

/** The slot directory of a manifest digest. */
export function slotDir(paths: AgentPaths, digest: string): string {
  return path.join(paths.slots, digest.replace(':', '-'));
}

/** The digest a slot directory name stands for, or undefined for anything else (a staging directory). */
export function digestOfSlot(name: string): string | undefined {
  const match = SLOT_NAME.exec(name);
  return match ? `sha256:${match[1]}` : undefined;
}

/** A short form of a digest for log lines: `sha256:1a2b3c4d5e6f`. */
export function shortDigest(digest: string): string {
  return digest.slice(0, 'sha256:'.length + 12);
}
