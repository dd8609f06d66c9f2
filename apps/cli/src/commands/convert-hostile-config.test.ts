// The worst config.json a user can hand `alki convert`, for every
// architecture: a layer count at the uint32 limit, which once drove an
// allocation and, written through, a GGUF llama.cpp aborts on. The real
// CLI runs in its own process under a 128 MB heap and a time limit; it must
// exit 3 with one error line that names the key and both values, and leave
// nothing behind.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from '@jest/globals';
import { CHECKPOINT_FAMILIES, generateCheckpoint } from '@alki/testkit';

const bin = fileURLToPath(new URL('../../bin/alki.js', import.meta.url));
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-hostile-config-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function runLimited(args: string[]): Promise<{ code: number | null; stderr: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--max-old-space-size=128', bin, ...args],
      { timeout: 60_000, killSignal: 'SIGKILL' },
      (error, _stdout, stderr) =>
        resolve({
          code: error ? ((error as { code?: number }).code ?? null) : 0,
          stderr,
          ms: Date.now() - started,
        }),
    );
  });
}

describe('alki convert with a hostile num_hidden_layers', () => {
  it.each(CHECKPOINT_FAMILIES)(
    '%s: exits 3 with one line naming the key and both values',
    async (family) => {
      const source = await generateCheckpoint({ family });
      const dir = path.join(work, family);
      fs.mkdirSync(dir);
      for (const file of fs.readdirSync(source))
        if (file !== 'config.json') fs.symlinkSync(path.join(source, file), path.join(dir, file));
      type TextConfig = { num_hidden_layers: number };
      const config = JSON.parse(fs.readFileSync(path.join(source, 'config.json'), 'utf8')) as TextConfig & {
        text_config?: TextConfig;
      };
      const text = config.text_config ?? config;
      const layers = text.num_hidden_layers;
      text.num_hidden_layers = 2 ** 32 - 1;
      fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
      const output = path.join(work, `${family}.gguf`);

      const result = await runLimited(['convert', dir, '-o', output, '--quiet']);
      expect(result.code).toBe(3);
      const errors = result.stderr.split('\n').filter((line) => line.startsWith('error:'));
      expect(errors).toEqual([
        `error: config.json's num_hidden_layers is 4294967295; llama.cpp loads 1 to 512 layers (LLAMA_MAX_LAYERS), and the weights hold ${layers}.`,
      ]);
      expect(result.stderr).not.toContain('    at ');
      expect(
        fs.readdirSync(work).filter((f) => f.startsWith(`${family}.gguf`) || f.startsWith(`.${family}.gguf`)),
      ).toEqual([]);
    },
    120_000,
  );
});
