import { describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

// Every ```ts block in a package README must type-check against the real
// sources, so the documented usage can never drift from the API.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function readmes(): string[] {
  const dirs = [
    ...fs.readdirSync(path.join(root, 'packages')).map((d) => path.join(root, 'packages', d)),
    path.join(root, 'apps', 'cli'),
  ];
  return dirs.map((d) => path.join(d, 'README.md')).filter((f) => fs.existsSync(f));
}

function tsBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
}

describe('README examples', () => {
  it('type-check against the package sources', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-readme-'));
    const files: string[] = [];
    try {
      for (const readme of readmes()) {
        tsBlocks(fs.readFileSync(readme, 'utf8')).forEach((code, index) => {
          const name = `${path.basename(path.dirname(readme))}-${index + 1}.mts`;
          const file = path.join(dir, name);
          // `export {}` makes each block a module, so top-level await is allowed.
          fs.writeFileSync(file, `${code}\nexport {};\n`);
          files.push(file);
        });
      }
      expect(files.length).toBeGreaterThan(0);
      const program = ts.createProgram(files, {
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.NodeNext,
        moduleResolution: ts.ModuleResolutionKind.NodeNext,
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        esModuleInterop: true,
        resolveJsonModule: true,
        types: ['node'],
        typeRoots: [path.join(root, 'node_modules', '@types')],
        baseUrl: root,
        paths: { '@alki/cli': ['apps/cli/src/index.ts'], '@alki/*': ['packages/*/src/index.ts'] },
      });
      const problems = ts
        .getPreEmitDiagnostics(program)
        .filter((d) => d.file === undefined || files.includes(d.file.fileName))
        .map(
          (d) =>
            `${d.file ? path.basename(d.file.fileName) : ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`,
        );
      expect(problems).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
