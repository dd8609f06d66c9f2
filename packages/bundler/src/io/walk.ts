import { readdir } from 'node:fs/promises';
import path from 'node:path';

/** One entry under a root, by its relative path with forward slashes. */
export interface TreeEntry {
  path: string;
  directory: boolean;
}

/**
 * Every entry under `root`, depth first, names in code-point order, children
 * before their directory. Links are listed as themselves, never followed, so
 * a link planted in a bundle cannot lead a walk out of it.
 */
export async function walkTree(root: string, relative = ''): Promise<TreeEntry[]> {
  const entries = await readdir(path.join(root, relative), { withFileTypes: true });
  const found: TreeEntry[] = [];
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const child = relative ? `${relative}/${entry.name}` : entry.name;
    if (entry.isDirectory()) found.push(...(await walkTree(root, child)), { path: child, directory: true });
    else found.push({ path: child, directory: false });
  }
  return found;
}
