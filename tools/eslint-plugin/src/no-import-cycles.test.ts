import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import plugin from './index.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-no-import-cycles-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

// Writes a small source tree on disk (the rule follows imports through the files) and returns its folder.
function tree(name: string, files: Record<string, string>): string {
  const dir = path.join(work, name);
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), text);
  }
  return dir;
}

// The rule's messages for one file of a tree, linted as the repository lints it.
function lint(dir: string, file: string): string[] {
  const filename = path.join(dir, file);
  const messages = new Linter({ cwd: dir }).verify(
    fs.readFileSync(filename, 'utf8'),
    [
      {
        files: ['**/*.ts'],
        languageOptions: { parser: tseslint.parser },
        plugins: { alki: plugin },
        rules: { 'alki/no-import-cycles': 'error' },
      },
    ],
    filename,
  );
  return messages.map((m) => m.message);
}

describe('no-import-cycles', () => {
  it('reports a cycle carried only by `import type`, naming each file on it', () => {
    const dir = tree('types', {
      'pack.ts': "import type { Source } from './sources.js';\nexport const pack = (s: Source) => s;\n",
      'sources.ts': "import type { pack } from './pack.js';\nexport type Source = { run: typeof pack };\n",
    });
    expect(lint(dir, 'pack.ts')).toEqual([
      'Import cycle: pack.ts -> sources.ts -> pack.ts. Move what both sides need into a module that imports neither (types included).',
    ]);
  });

  it('finds a longer cycle through a re-export and a folder above', () => {
    const dir = tree('long', {
      'pack/a.ts': "import { b } from './b.js';\nexport const a = b;\n",
      'pack/b.ts': "export { c as b } from '../c.js';\n",
      'c.ts': "import { a } from './pack/a.js';\nexport const c = () => a;\n",
    });
    expect(lint(dir, 'pack/a.ts')).toEqual([
      expect.stringContaining('Import cycle: a.ts -> b.ts -> ../c.ts -> a.ts.'),
    ]);
  });

  it('counts a dynamic import() as an edge', () => {
    const dir = tree('dynamic', {
      'main.ts': "export const load = () => import('./command.js');\n",
      'command.ts': "import { load } from './main.js';\nexport const again = load;\n",
    });
    expect(lint(dir, 'main.ts')).toHaveLength(1);
  });

  it("counts a type query's import('./x.js') as an edge", () => {
    const dir = tree('type-query', {
      'a.ts': "export type B = typeof import('./b.js');\n",
      'b.ts': "import type { B } from './a.js';\nexport const b: B | undefined = undefined;\n",
    });
    expect(lint(dir, 'a.ts')).toEqual([expect.stringContaining('Import cycle: a.ts -> b.ts -> a.ts.')]);
  });

  it('accepts imports that go one way, and ignores packages and builtins', () => {
    const dir = tree('acyclic', {
      'a.ts':
        "import fs from 'node:fs';\nimport { b } from './b.js';\nimport type { Linter } from 'eslint';\nexport const a = [fs, b] as unknown as Linter;\n",
      'b.ts': "import { c } from './c.js';\nexport const b = c;\n",
      'c.ts': 'export const c = 1;\n',
    });
    expect(['a.ts', 'b.ts', 'c.ts'].flatMap((file) => lint(dir, file))).toEqual([]);
  });
});
