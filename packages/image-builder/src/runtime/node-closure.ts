import fs from 'node:fs';
import path from 'node:path';
import type { TarEntry } from '../tar/tar-header.js';

/** A package to copy into the runtime image: its name and its directory on this machine. */
export interface ClosurePackage {
  name: string;
  dir: string;
}

function findPackageDir(name: string, fromDir: string): string | undefined {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (fs.existsSync(path.join(candidate, 'package.json'))) return fs.realpathSync(candidate);
    if (path.dirname(dir) === dir) return undefined;
  }
}

/**
 * The package and every package it depends on at run time, found the way
 * Node resolves them (node_modules up the tree). Optional dependencies that
 * are not installed are left out, as npm does.
 */
export function packageClosure(packageDir: string): ClosurePackage[] {
  const seen = new Map<string, ClosurePackage>();
  const queue: ClosurePackage[] = [];
  const root = fs.realpathSync(packageDir);
  const rootName = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { name: string })
    .name;
  queue.push({ name: rootName, dir: root });
  while (queue.length) {
    const current = queue.shift() as ClosurePackage;
    if (seen.has(current.name)) continue;
    seen.set(current.name, current);
    const manifest = JSON.parse(fs.readFileSync(path.join(current.dir, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
    };
    for (const name of Object.keys({ ...manifest.dependencies, ...manifest.optionalDependencies })) {
      const dir = findPackageDir(name, current.dir);
      if (dir) queue.push({ name, dir });
    }
  }
  return [...seen.values()];
}

function walk(dir: string, relative: string, keep: (relative: string) => boolean, out: string[]): void {
  for (const entry of fs.readdirSync(path.join(dir, relative), { withFileTypes: true })) {
    const child = relative ? `${relative}/${entry.name}` : entry.name;
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules') walk(dir, child, keep, out);
    } else if (entry.isFile() && keep(child)) {
      out.push(child);
    }
  }
}

// Our own packages ship what `npm publish` would (package.json and the
// "files" list) minus tests, source maps and type declarations; third-party
// ones are copied whole, minus their nested node_modules, which the closure
// lists as packages of their own.
function keepFile(pkg: ClosurePackage): (relative: string) => boolean {
  if (!pkg.name.startsWith('@alki/')) return () => true;
  const manifest = JSON.parse(fs.readFileSync(path.join(pkg.dir, 'package.json'), 'utf8')) as {
    files?: string[];
  };
  const roots = (manifest.files ?? ['dist']).map((f) => f.replace(/\/+$/, ''));
  return (relative) =>
    relative === 'package.json' ||
    (roots.some((root) => relative === root || relative.startsWith(`${root}/`)) &&
      !/\.(test\.js|map|d\.ts|tsbuildinfo)$/.test(relative) &&
      relative !== 'README.md');
}

/** Tar entries that place the packages under `<root>/node_modules/<name>`. */
export function closureEntries(packages: ClosurePackage[], root: string): TarEntry[] {
  const entries: TarEntry[] = [];
  for (const pkg of packages) {
    const files: string[] = [];
    walk(pkg.dir, '', keepFile(pkg), files);
    for (const file of files) {
      const source = path.join(pkg.dir, file);
      const stat = fs.statSync(source);
      entries.push({
        type: 'file',
        path: `${root}/node_modules/${pkg.name}/${file}`,
        mode: stat.mode & 0o111 ? 0o755 : 0o644,
        size: stat.size,
        content: { kind: 'file', path: source },
      });
    }
  }
  return entries;
}
