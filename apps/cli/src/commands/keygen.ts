import { generateKeyPair, writeKeyPair } from '@alki/signer';
import path from 'node:path';
import type { Argv } from 'yargs';
import { withContext, type AlkiCommandBody, type GlobalOptions } from '../context.js';
import { PASSPHRASE_ENV } from '../environment.js';
import { readPassphrase } from '../passphrase.js';

interface KeygenArgs extends GlobalOptions {
  out: string;
  force: boolean;
}

export const keygenCommand: AlkiCommandBody = {
  builder: (y: Argv<GlobalOptions>) =>
    y
      .option('out', {
        alias: 'o',
        type: 'string',
        default: 'alki',
        describe: 'Path prefix: writes <out>.key (mode 0600) and <out>.pub',
      })
      .option('force', { type: 'boolean', default: false, describe: 'Replace an existing key pair' })
      .example(
        '$0 keygen --out keys/release',
        'Asks for a passphrase; writes keys/release.key and keys/release.pub',
      )
      .example(
        `${PASSPHRASE_ENV}=... $0 keygen --json`,
        'No prompt: the passphrase comes from the environment',
      ),
  handler: withContext<KeygenArgs>(async (argv, { out }) => {
    const passphrase = await readPassphrase('new');
    const written = await writeKeyPair(path.resolve(argv.out), generateKeyPair(passphrase), {
      force: argv.force,
    });
    out.result(written, () =>
      [
        `private key  ${written.privateKeyPath}  (encrypted; keep it secret)`,
        `public key   ${written.publicKeyPath}  (give it to verifiers and put it in trust policies)`,
        `key id       ${written.keyId}`,
      ].join('\n'),
    );
  }),
};
