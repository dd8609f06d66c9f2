import { describe, expect, it } from '@jest/globals';
import yargs from 'yargs';
import { skipHelpCache } from './help-cache.js';

type Internals = { getInternalMethods(): { getUsageInstance(): { hasCachedHelpMessage(): boolean } } };

// A parser with one command, run once; says whether yargs cached the help text.
async function helpWasCached(skip: boolean): Promise<boolean> {
  let ran = false;
  const parser = yargs(['hello', '--name', 'x'])
    .exitProcess(false)
    .command(
      'hello',
      'Say hello',
      (y) => y.option('name', { type: 'string' }),
      () => {
        ran = true;
      },
    );
  if (skip) skipHelpCache(parser);
  await parser.parseAsync();
  expect(ran).toBe(true);
  return (parser as unknown as Internals).getInternalMethods().getUsageInstance().hasCachedHelpMessage();
}

describe('skipHelpCache', () => {
  it('keeps yargs from rendering the help text when a command runs', async () => {
    // If the first expectation fails, yargs no longer caches help this way: skipHelpCache can go.
    expect(await helpWasCached(false)).toBe(true);
    expect(await helpWasCached(true)).toBe(false);
  });

  it('leaves --help whole', async () => {
    let help = '';
    const parser = yargs()
      .exitProcess(false)
      .command(
        'hello',
        'Say hello',
        (y) => y.option('name', { type: 'string', describe: 'Whom' }),
        () => undefined,
      );
    skipHelpCache(parser);
    await parser.parseAsync(['hello', '--help'], {}, (_error, _argv, output) => {
      help = output;
    });
    expect(help).toContain('--name');
    expect(help).toContain('Whom');
  });
});
