// The packages as a user gets them from npm: every public workspace is packed
// with `npm pack`, the tarballs are installed together (one `npm install`,
// dependencies from the npm registry) into a project outside the workspace,
// and there each package README's examples type-check against the installed
// declarations and run, and the installed CLI packs and verifies the demo.
// Slow (minutes): one install of about 800 MB, node-llama-cpp's binaries
// included.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import ts from 'typescript';
import { cachedTinyLlamaGguf } from './tiny-gguf.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
// An example that needs more than this is not an example.
const EXAMPLE_MS = 300_000;

interface Workspace {
  dir: string;
  name: string;
  pkg: {
    name: string;
    private?: boolean;
    bin?: Record<string, string>;
    exports?: Record<string, string | Record<string, string>>;
  };
}

interface Packed {
  name: string;
  filename: string;
  files: Array<{ path: string }>;
}

/** Every workspace the root package.json names (`dir/*` globs or plain dirs) that is not private. */
function publicWorkspaces(): Workspace[] {
  const globs = (
    JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { workspaces: string[] }
  ).workspaces;
  const dirs = globs.flatMap((glob) =>
    glob.endsWith('/*')
      ? fs.readdirSync(path.join(root, glob.slice(0, -2))).map((d) => path.join(root, glob.slice(0, -2), d))
      : [path.join(root, glob)],
  );
  return dirs
    .filter((dir) => fs.existsSync(path.join(dir, 'package.json')))
    .map((dir) => {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as Workspace['pkg'];
      return { dir, name: path.basename(dir), pkg };
    })
    .filter((w) => !w.pkg.private);
}

function run(
  command: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
): SpawnSyncReturns<string> {
  const result = spawnSync(command, args, { cwd, env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (result.status !== 0)
    throw new Error(`${command} ${args.join(' ')} failed (${result.status}):\n${result.stderr.slice(-4000)}`);
  return result;
}

function tsBlocks(readme: string): string[] {
  return [...fs.readFileSync(readme, 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
}

const workspaces = publicWorkspaces();
let tmp: string;
let project: string;
let packed: Packed[];
/** Every README example: its name and where its TypeScript was written. */
const examples: Array<{ name: string; file: string }> = [];

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-npm-tarballs-'));
  project = path.join(tmp, 'project');
  fs.mkdirSync(path.join(project, 'examples'), { recursive: true });
  // npm pack ships what is in dist/: tools/test.sh (npm test) builds first.
  packed = JSON.parse(
    run(
      'npm',
      ['pack', '--json', '--pack-destination', tmp, ...workspaces.flatMap((w) => ['-w', w.pkg.name])],
      root,
    ).stdout,
  ) as Packed[];
  fs.writeFileSync(
    path.join(project, 'package.json'),
    JSON.stringify({ name: 'alki-tarball-check', private: true, type: 'module' }),
  );
  run(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      ...packed.map((p) => path.join(tmp, p.filename)),
    ],
    project,
  );
  for (const workspace of workspaces) {
    const readme = path.join(workspace.dir, 'README.md');
    if (!fs.existsSync(readme)) continue;
    tsBlocks(readme).forEach((code, i) => {
      const name = `${workspace.name}-${i + 1}`;
      const file = path.join(project, 'examples', `${name}.mts`);
      // `export {}` makes each block a module, so top-level await is allowed.
      fs.writeFileSync(file, `${code}\nexport {};\n`);
      examples.push({ name, file });
    });
  }
}, 1_200_000);

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('the packages installed from their npm tarballs', () => {
  it('packs every public workspace with its README, its exports and its bin', () => {
    expect(packed.map((p) => p.name).sort()).toEqual(workspaces.map((w) => w.pkg.name).sort());
    for (const workspace of workspaces) {
      const files = new Set(packed.find((p) => p.name === workspace.pkg.name)!.files.map((f) => f.path));
      const targets = [
        'README.md',
        'package.json',
        ...Object.values(workspace.pkg.bin ?? {}),
        ...Object.values(workspace.pkg.exports ?? {}).flatMap((e) =>
          typeof e === 'string' ? [e] : Object.values(e),
        ),
      ].map((target) => path.posix.normalize(target));
      expect({ name: workspace.pkg.name, missing: targets.filter((t) => !files.has(t)) }).toEqual({
        name: workspace.pkg.name,
        missing: [],
      });
    }
  });

  it('has READMEs that link only to files inside their own tarball', () => {
    const broken: string[] = [];
    for (const workspace of workspaces) {
      const readme = path.join(workspace.dir, 'README.md');
      const files = new Set(packed.find((p) => p.name === workspace.pkg.name)!.files.map((f) => f.path));
      for (const [, target] of fs.readFileSync(readme, 'utf8').matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^([a-z]+:|#)/i.test(target)) continue;
        const inside = path.posix.normalize(target.replace(/#.*$/, '')).replace(/\/$/, '');
        const shipped = files.has(inside) || [...files].some((f) => f.startsWith(`${inside}/`));
        if (inside.startsWith('..') || !shipped) broken.push(`${workspace.pkg.name}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it("type-checks every README example against the installed packages' declarations", () => {
    expect(examples.length).toBeGreaterThanOrEqual(workspaces.length);
    const program = ts.createProgram(
      examples.map((e) => e.file),
      {
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.NodeNext,
        moduleResolution: ts.ModuleResolutionKind.NodeNext,
        strict: true,
        noEmit: true,
        types: ['node'],
        typeRoots: [path.join(root, 'node_modules', '@types')],
      },
    );
    // Our declarations are checked too (no skipLibCheck); third-party ones are theirs to fix.
    const ours = (file: ts.SourceFile | undefined) =>
      file === undefined ||
      !file.fileName.includes('/node_modules/') ||
      file.fileName.includes('/node_modules/@alki/');
    const problems = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => ours(d.file))
      .map(
        (d) =>
          `${d.file ? path.relative(project, d.file.fileName) : ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`,
      );
    expect(problems).toEqual([]);
  }, 300_000);

  it('runs every README example: it finishes, or stops at an input this machine lacks with the typed error', async () => {
    const model = (await cachedTinyLlamaGguf()).path;
    // What the examples name as their inputs: the tiny llama, under each name they use.
    const runner = path.join(project, 'run-example.mjs');
    fs.writeFileSync(
      runner,
      [
        "import { pathToFileURL } from 'node:url';",
        "import { isAlkiError } from '@alki/errors';",
        'let outcome;',
        "try { await import(pathToFileURL(process.argv[2]).href); outcome = { outcome: 'finished' }; }",
        "catch (error) { outcome = isAlkiError(error) ? { outcome: 'typed', code: error.code, message: error.message } : { outcome: 'untyped', message: String(error?.stack ?? error) }; }",
        'console.log(`@@outcome ${JSON.stringify(outcome)}`);',
        // An example may leave a server or a timer behind; it has said what it had to.
        'process.exit(0);',
      ].join('\n'),
    );
    const outcomes: Array<{ name: string; outcome: string; code?: string; message?: string }> = [];
    for (const example of examples) {
      const dir = path.join(tmp, 'run', example.name);
      fs.mkdirSync(path.join(dir, 'models'), { recursive: true });
      for (const name of ['model.gguf', 'tiny.gguf', 'model-f16.gguf', 'models/qwen3-0.6b-q4_k_m.gguf'])
        fs.copyFileSync(model, path.join(dir, name));
      const js = path.join(project, 'examples', `${example.name}.mjs`);
      const { outputText } = ts.transpileModule(fs.readFileSync(example.file, 'utf8'), {
        compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
      });
      fs.writeFileSync(js, outputText);
      const result = spawnSync(process.execPath, [runner, js], {
        cwd: dir,
        encoding: 'utf8',
        timeout: EXAMPLE_MS,
        maxBuffer: 64 * 1024 * 1024,
        // Offline for the hub, and the image store inside the run: nothing leaves the temp dir.
        env: {
          ...process.env,
          NODE_OPTIONS: '',
          HF_HOME: path.join(dir, 'hf'),
          HF_HUB_OFFLINE: '1',
          XDG_DATA_HOME: path.join(dir, 'data'),
        },
      });
      const line = result.stdout?.split('\n').find((l) => l.startsWith('@@outcome '));
      outcomes.push(
        line
          ? { name: example.name, ...(JSON.parse(line.slice('@@outcome '.length)) as { outcome: string }) }
          : {
              name: example.name,
              outcome: 'no outcome',
              message: `${result.error?.message ?? ''} ${result.stderr?.slice(-2000)}`,
            },
      );
    }
    console.log(
      outcomes.map((o) => `${o.name.padEnd(24)} ${o.outcome} ${o.code ?? ''} ${o.message ?? ''}`).join('\n'),
    );
    expect(outcomes.filter((o) => o.outcome !== 'finished' && o.outcome !== 'typed')).toEqual([]);
    // Offline, with no registry and no checkpoints, some examples can only get as far as asking for
    // them; at least half must get all the way through, so that the rule above is not met by all stopping early.
    expect(outcomes.filter((o) => o.outcome === 'finished').length).toBeGreaterThanOrEqual(
      examples.length / 2,
    );
  }, 3_600_000);

  it('packs the demo with npx alki from the installed CLI, and the bundle verifies', () => {
    // Inside the project, so that npx finds the installed bin.
    const dir = path.join(project, 'npx-demo');
    fs.mkdirSync(dir);
    const packedDemo = run('npx', ['--no', 'alki', 'pack', '--demo', '--json'], dir);
    expect(
      (JSON.parse(packedDemo.stdout) as { manifest: { artifacts: unknown[] } }).manifest.artifacts,
    ).toHaveLength(2);
    const verified = run('npx', ['--no', 'alki', 'verify', './dist/alki-demo', '--json'], dir);
    expect((JSON.parse(verified.stdout) as { ok: boolean }).ok).toBe(true);
  }, 600_000);
});
