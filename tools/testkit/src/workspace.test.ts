import { describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Structural rules of the monorepo (docs/contributing.md), checked on every
// workspace package so that drift fails the build instead of a review.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

interface Workspace {
  dir: string;
  pkg: {
    name: string;
    private?: boolean;
    exports?: Record<string, unknown>;
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
  };
}

function workspaces(): Workspace[] {
  const dirs = [
    ...fs.readdirSync(path.join(root, 'packages')).map((d) => path.join(root, 'packages', d)),
    ...fs.readdirSync(path.join(root, 'apps')).map((d) => path.join(root, 'apps', d)),
    path.join(root, 'tools', 'testkit'),
  ].filter((dir) => fs.existsSync(path.join(dir, 'package.json')));
  return dirs.map((dir) => ({
    dir,
    pkg: JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as Workspace['pkg'],
  }));
}

const all = workspaces();
const byName = new Map(all.map((w) => [w.pkg.name, w]));

describe.each(all.map((w) => [w.pkg.name, w] as const))('%s', (_name, workspace) => {
  // Test-only packages (devDependencies, such as @alki/testkit) are not
  // part of the build graph, so only runtime dependencies need references.
  const internalDeps = Object.keys({ ...workspace.pkg.dependencies }).filter((d) => byName.has(d));

  it('lists its tsconfig project references exactly as its @alki runtime dependencies', () => {
    const tsconfig = JSON.parse(fs.readFileSync(path.join(workspace.dir, 'tsconfig.build.json'), 'utf8')) as {
      references?: Array<{ path: string }>;
    };
    const referenced = (tsconfig.references ?? [])
      .map((r) => path.resolve(workspace.dir, path.dirname(r.path)))
      .sort();
    const expected = internalDeps.map((d) => byName.get(d)!.dir).sort();
    expect(referenced).toEqual(expected);
  });

  it('puts `types` first in its exports map', () => {
    const entry = workspace.pkg.exports?.['.'] as Record<string, string> | undefined;
    expect(entry && Object.keys(entry)[0]).toBe('types');
  });

  it('has a src/index.ts with an explicit list of exports (no `export *`)', () => {
    const index = fs.readFileSync(path.join(workspace.dir, 'src', 'index.ts'), 'utf8');
    expect(index).not.toMatch(/export \* from/);
  });

  it('never imports another package by a relative path', () => {
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const file = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(file);
        else if (file.endsWith('.ts')) {
          for (const match of fs
            .readFileSync(file, 'utf8')
            .matchAll(/(?:from|import\()\s*'(\.{1,2}\/[^']*)'/g)) {
            const target = path.resolve(path.dirname(file), match[1]);
            if (!target.startsWith(workspace.dir + path.sep))
              offenders.push(`${path.relative(root, file)} imports ${match[1]}`);
          }
        }
      }
    };
    walk(path.join(workspace.dir, 'src'));
    expect(offenders).toEqual([]);
  });

  if (!workspace.pkg.private) {
    it('has a README', () => {
      expect(fs.existsSync(path.join(workspace.dir, 'README.md'))).toBe(true);
    });
  }
});

describe('libraries', () => {
  it('never depend on the CLI', () => {
    const dependents = all.filter(
      (w) => w.pkg.name !== '@alki/cli' && Object.keys({ ...w.pkg.dependencies }).includes('@alki/cli'),
    );
    expect(dependents.map((w) => w.pkg.name)).toEqual([]);
  });
});

describe('public surfaces', () => {
  it('never export one name from two packages, where it would mean two things', () => {
    const exporters = new Map<string, string[]>();
    for (const workspace of all) {
      const index = fs.readFileSync(path.join(workspace.dir, 'src', 'index.ts'), 'utf8');
      for (const [, list] of index.matchAll(/export (?:type )?\{([^}]*)\}/g)) {
        for (const item of list.split(',')) {
          const name = item
            .trim()
            .split(/\s+as\s+/)
            .pop()!
            .trim();
          if (name) exporters.set(name, [...(exporters.get(name) ?? []), workspace.pkg.name]);
        }
      }
    }
    const shared = [...exporters]
      .filter(([, names]) => names.length > 1)
      .map(([name, names]) => `${name}: ${names.join(', ')}`);
    expect(shared).toEqual([]);
  });
});
