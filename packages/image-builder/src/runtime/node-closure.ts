import fs from 'node:fs';
import path from 'node:path';
import type { TarEntry } from '../tar/tar-header.js';

/**
 * A package to copy into the runtime image: its name, its directory on this
 * machine, and where it goes under the image's runtime root
 * (`node_modules/<name>`, or nested below the package that needs a version of
 * its own, as npm installed it).
 */
export interface ClosurePackage {
  name: string;
  dir: string;
  at: string;
}

function isInside(dir: string, parent: string): boolean {
  return dir === parent || dir.startsWith(`${parent}${path.sep}`);
}

/**
 * The package and every package it depends on at run time, found the way
 * Node resolves them (node_modules up the tree) and placed so that Node
 * inside the image resolves each import to the same version: a package npm
 * nested below another (a second version of lru-cache under @npmcli/agent)
 * stays nested there. Optional dependencies that are not installed are left
 * out, as npm does.
 */
export function packageClosure(packageDir: string): ClosurePackage[] {
  const placed = new Map<string, ClosurePackage>();
  const root = fs.realpathSync(packageDir);
  const rootName = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { name: string })
    .name;
  const queue: ClosurePackage[] = [{ name: rootName, dir: root, at: `node_modules/${rootName}` }];
  while (queue.length) {
    const current = queue.shift() as ClosurePackage;
    if (placed.has(current.at)) continue;
    placed.set(current.at, current);
    const manifest = JSON.parse(fs.readFileSync(path.join(current.dir, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
    };
    for (const name of Object.keys({ ...manifest.dependencies, ...manifest.optionalDependencies })) {
      for (let dir = current.dir; ; dir = path.dirname(dir)) {
        const candidate = path.join(dir, 'node_modules', name);
        if (fs.existsSync(path.join(candidate, 'package.json'))) {
          // Below the deepest package already placed that holds this node_modules, else at the top.
          const holder = [...placed.values()]
            .filter((pkg) => isInside(dir, pkg.dir))
            .sort((a, b) => b.dir.length - a.dir.length)[0];
          const at = holder
            ? path.posix.join(holder.at, path.relative(holder.dir, candidate).split(path.sep).join('/'))
            : `node_modules/${name}`;
          queue.push({ name, dir: fs.realpathSync(candidate), at });
          break;
        }
        if (path.dirname(dir) === dir) break;
      }
    }
  }
  return [...placed.values()];
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

/** Tar entries that place each package at `<root>/<at>`. */
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
        path: `${root}/${pkg.at}/${file}`,
        mode: stat.mode & 0o111 ? 0o755 : 0o644,
        size: stat.size,
        content: { kind: 'file', path: source },
      });
    }
  }
  return entries;
}
