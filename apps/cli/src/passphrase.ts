import { SignerError } from '@alki/signer';
import { PASSPHRASE_ENV } from './environment.js';

export interface PassphraseSource {
  env?: NodeJS.ProcessEnv;
  input?: NodeJS.ReadStream;
  output?: NodeJS.WriteStream;
}

// Reads one line from a terminal without echoing it.
function promptHidden(
  question: string,
  input: NodeJS.ReadStream,
  output: NodeJS.WriteStream,
): Promise<string> {
  return new Promise((resolve, reject) => {
    output.write(question);
    input.setRawMode(true);
    input.resume();
    let typed = '';
    const finish = (error?: Error) => {
      input.setRawMode(false);
      input.pause();
      input.off('data', onData);
      output.write('\n');
      if (error) reject(error);
      else resolve(typed);
    };
    const onData = (chunk: Buffer) => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') return finish();
        if (char === '\u0003')
          return finish(new SignerError('ABORTED', 'Interrupted at the passphrase prompt.'));
        if (char === '\u007f' || char === '\b') typed = typed.slice(0, -1);
        else typed += char;
      }
    };
    input.on('data', onData);
  });
}

/**
 * The passphrase of a private key: ALKI_KEY_PASSPHRASE when set, else asked
 * on the terminal without echo (twice for a new key). With neither, a usage
 * error says how to give one.
 */
export async function readPassphrase(
  purpose: 'new' | 'existing',
  source: PassphraseSource = {},
): Promise<string> {
  const env = source.env ?? process.env;
  const fromEnv = env[PASSPHRASE_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const input = source.input ?? process.stdin;
  const output = source.output ?? process.stderr;
  if (!input.isTTY) {
    throw new SignerError(
      'PASSPHRASE_MISSING',
      `No passphrase: ${PASSPHRASE_ENV} is not set and there is no terminal to ask on.`,
      {
        hint: `Set ${PASSPHRASE_ENV} (from your CI's secret store); passphrases are never taken as flags.`,
      },
    );
  }
  const first = await promptHidden(
    purpose === 'new' ? 'Passphrase for the new private key: ' : 'Passphrase of the private key: ',
    input,
    output,
  );
  if (purpose === 'existing') return first;
  const again = await promptHidden('The same passphrase again: ', input, output);
  if (first !== again)
    throw new SignerError('PASSPHRASE_MISSING', 'The two passphrases differ; no key was written.');
  return first;
}
