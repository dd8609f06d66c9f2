import { describe, expect, it } from '@jest/globals';
import { AlkiError } from '@alki/errors';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { exitCodeForCategory, EXIT_CODES } from './exit-codes.js';
import { runCli } from './test-support.js';
import { CLI_VERSION } from './version.js';

describe('alki --help', () => {
  it('lists every command group with an example, and the exit codes', async () => {
    const { code, stdout } = await runCli(['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('alki tools <command>');
    expect(stdout).toContain('Examples:');
    expect(stdout).toContain('alki tools build');
    expect(stdout).toContain(
      'Exit codes: 0 ok, 1 a check failed, 2 usage, 3 input invalid, 4 network or registry',
    );
  });
});

describe('alki --version', () => {
  it('prints the CLI version', async () => {
    const { code, stdout } = await runCli(['--version']);
    expect(code).toBe(0);
    expect(stdout.trim()).toBe(CLI_VERSION);
    expect(CLI_VERSION).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('answers from bin/alki.js without loading the parser, with the same bytes as the parser', async () => {
    const bin = fileURLToPath(new URL('../bin/alki.js', import.meta.url));
    const fast = execFileSync(process.execPath, [bin, '--version'], { encoding: 'utf8' });
    // --quiet keeps the parser's path (the fast path takes `--version` alone).
    const parsed = execFileSync(process.execPath, [bin, '--version', '--quiet'], { encoding: 'utf8' });
    const { stdout } = await runCli(['--version']);
    expect(fast).toBe(`${CLI_VERSION}\n`);
    expect(parsed).toBe(fast);
    expect(stdout).toBe(fast);
  });
});

describe('usage errors', () => {
  it('refuse an argument that is not UTF-8, naming its bytes, before anything reads or writes it', () => {
    const bin = fileURLToPath(new URL('../bin/alki.js', import.meta.url));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-utf8-'));
    try {
      // The shell passes the raw byte 0xff, which Node's argv would turn into U+FFFD.
      const script = `exec "$0" "$1" quantize in.gguf $'out-\\xff.gguf' Q8_0 --json`;
      const result = spawnSync('bash', ['-c', script, process.execPath, bin], { cwd: dir, encoding: 'utf8' });
      expect(result.status).toBe(EXIT_CODES.usage);
      expect(result.stderr).toMatch(/^error: argument 3 is not valid UTF-8 \(bytes 6f75742dff2e67677566\)/);
      expect(result.stderr).not.toMatch(/\n\s+at /);
      expect(JSON.parse(result.stdout)).toMatchObject({ error: { code: 'USAGE', category: 'usage' } });
      expect(fs.readdirSync(dir)).toEqual([]);
      // A name that is UTF-8 goes on to the command, which says what it found.
      const cafe = spawnSync(
        'bash',
        ['-c', `exec "$0" "$1" inspect $'caf\\xc3\\xa9.gguf'`, process.execPath, bin],
        {
          cwd: dir,
          encoding: 'utf8',
        },
      );
      expect(cafe.status).toBe(EXIT_CODES.inputInvalid);
      expect(cafe.stderr).toContain('café.gguf does not exist');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exit with 2 and one clear line, without a stack', async () => {
    const { code, stderr } = await runCli(['no-such-command']);
    expect(code).toBe(EXIT_CODES.usage);
    expect(stderr).toMatch(/^error: /m);
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it('are reported as a JSON error object on stdout with --json', async () => {
    const { code, stdout } = await runCli(['no-such-command', '--json']);
    expect(code).toBe(2);
    expect(JSON.parse(stdout)).toMatchObject({ error: { code: 'USAGE', category: 'usage' } });
  });

  it("are the CLI's own when a command refuses a flag's value: CliError USAGE, naming the flag", async () => {
    const { code, stdout } = await runCli(['inspect', 'model.gguf', '--ctx-size', '-4', '--json']);
    expect(code).toBe(EXIT_CODES.usage);
    expect(JSON.parse(stdout)).toEqual({
      error: {
        name: 'CliError',
        code: 'USAGE',
        category: 'usage',
        message: '--ctx-size must be a whole number of tokens, got -4.',
        details: { flag: '--ctx-size' },
      },
    });
  });

  it('exit with 2 when a command group is given no subcommand', async () => {
    const { code } = await runCli(['tools']);
    expect(code).toBe(2);
  });
});

describe('alki completion', () => {
  it('prints a bash completion script', async () => {
    const { code, stdout } = await runCli(['completion']);
    expect(code).toBe(0);
    expect(stdout).toContain('complete -o bashdefault -o default -F _alki_yargs_completions alki');
  });
});

describe('exit codes', () => {
  it('map every error category to its documented code', () => {
    expect(exitCodeForCategory('check')).toBe(1);
    expect(exitCodeForCategory('usage')).toBe(2);
    expect(exitCodeForCategory('input')).toBe(3);
    expect(exitCodeForCategory('network')).toBe(4);
    expect(exitCodeForCategory('environment')).toBe(5);
    expect(exitCodeForCategory('internal')).toBe(70);
  });

  it('come from the error category of an AlkiError thrown by a library', () => {
    const error = new AlkiError('X', 'x', { category: 'network' });
    expect(exitCodeForCategory(error.category)).toBe(EXIT_CODES.network);
  });
});
