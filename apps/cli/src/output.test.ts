import { describe, expect, it } from '@jest/globals';
import { PassThrough } from 'node:stream';
import { Output } from './output.js';

function capture(flags: { json?: boolean; quiet?: boolean; verbose?: boolean }) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out = new Output({ json: false, quiet: false, verbose: false, ...flags, stdout, stderr });
  const text = (stream: PassThrough) => (stream.read() as Buffer | null)?.toString() ?? '';
  return { out, stdout: () => text(stdout), stderr: () => text(stderr) };
}

describe('Output', () => {
  it('prints the result and the messages around it by default', () => {
    const run = capture({});
    run.out.info('Packing...');
    run.out.result({ dir: 'dist/x' }, () => 'packed dist/x');
    expect(run.stdout()).toBe('packed dist/x\n');
    expect(run.stderr()).toBe('Packing...\n');
  });

  it('with --quiet, prints only the result and errors', () => {
    const run = capture({ quiet: true });
    run.out.info('Packing...');
    run.out.warn('slow disk');
    run.out.result({ dir: 'dist/x' }, () => 'packed dist/x');
    run.out.error('error: something');
    expect(run.stdout()).toBe('packed dist/x\n');
    expect(run.stderr()).toBe('error: something\n');
  });

  it('with --json, prints the result as JSON on stdout and no messages', () => {
    const run = capture({ json: true });
    run.out.info('Packing...');
    run.out.result({ dir: 'dist/x' }, () => 'packed dist/x');
    expect(JSON.parse(run.stdout())).toEqual({ dir: 'dist/x' });
    expect(run.stderr()).toBe('');
  });
});
