import net from 'node:net';
import { describe, expect, it } from '@jest/globals';
import { AlkiError, describeCause, describeSystemError, isAlkiError } from './index.js';

class DemoError extends AlkiError<'BROKEN' | 'GONE'> {}

describe('AlkiError', () => {
  it('carries a code, a category, a cause, a hint and data fields', () => {
    const cause = new Error('low level');
    const error = new DemoError('BROKEN', 'The thing is broken.', {
      category: 'input',
      cause,
      hint: 'Fix the thing.',
      details: { offset: 12 },
    });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('DemoError');
    expect(error.code).toBe('BROKEN');
    expect(error.category).toBe('input');
    expect(error.cause).toBe(cause);
    expect(error.toJSON()).toEqual({
      name: 'DemoError',
      code: 'BROKEN',
      category: 'input',
      message: 'The thing is broken.',
      hint: 'Fix the thing.',
      details: { offset: 12 },
    });
  });

  it('is recognised by isAlkiError, and plain errors are not', () => {
    expect(isAlkiError(new DemoError('GONE', 'gone', { category: 'network' }))).toBe(true);
    expect(isAlkiError(new Error('plain'))).toBe(false);
    expect(isAlkiError('BROKEN')).toBe(false);
  });
});

describe('describeSystemError', () => {
  it('turns ENOSPC into an environment failure that names the path', () => {
    const error = Object.assign(new Error('write failed'), { code: 'ENOSPC', path: '/data/x' });
    expect(describeSystemError(error)).toEqual({
      code: 'ENOSPC',
      category: 'environment',
      message: 'the disk is full: /data/x',
    });
  });

  it('returns undefined for errors that are not system errors', () => {
    expect(describeSystemError(new Error('x'))).toBeUndefined();
    expect(describeSystemError(undefined)).toBeUndefined();
  });
});

describe('describeCause', () => {
  it('names the innermost cause of a fetch failure, with its code', async () => {
    // A real failure: a port that was free a moment ago refuses the connection.
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    const error = await fetch(`http://127.0.0.1:${port}/`).catch((e: unknown) => e);
    expect((error as Error).message).toBe('fetch failed');
    expect(describeCause(error)).toMatch(/ECONNREFUSED.*\(ECONNREFUSED\)$/);
  });

  it('keeps the outer message when there is no cause', () => {
    expect(describeCause(new Error('plain'))).toBe('plain');
    expect(describeCause('a string')).toBe('a string');
  });
});
