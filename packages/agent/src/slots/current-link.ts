import { syncDirectory } from '@alki/gguf-reader';
import { tempPathBeside } from '@alki/oci';
import fs from 'node:fs';
import path from 'node:path';
import { digestOfSlot, slotDir, type AgentPaths } from './agent-paths.js';

/** The digest the `current` link names, or undefined when there is no link (or it names no slot). */
export async function readCurrentLink(paths: AgentPaths): Promise<string | undefined> {
  const target = await fs.promises.readlink(paths.current).catch(() => undefined);
  return target === undefined ? undefined : digestOfSlot(path.basename(target));
}

/**
 * Points the `current` link at a slot: a new link is made beside it and
 * renamed over the old one (rename(2) replaces a link atomically), then the
 * directory is flushed. A crash at any moment leaves the old link or the new
 * one, never none. The target is relative, so the directory can move.
 *
 * @example
 * await switchCurrentLink(agentPaths('/var/lib/alki/qwen3'), 'sha256:...');
 */
export async function switchCurrentLink(paths: AgentPaths, digest: string): Promise<void> {
  const temp = tempPathBeside(paths.current);
  await fs.promises.symlink(path.relative(paths.root, slotDir(paths, digest)), temp);
  try {
    await fs.promises.rename(temp, paths.current);
  } catch (error) {
    await fs.promises.rm(temp, { force: true });
    throw error;
  }
  await syncDirectory(paths.root);
}
