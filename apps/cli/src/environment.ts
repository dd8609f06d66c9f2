// Environment variables the CLI reads itself (libraries document their own: HF_TOKEN, HF_ENDPOINT, ...).

/** The variable a private key's passphrase is read from; never a flag, which would land in shell history and `ps`. */
export const PASSPHRASE_ENV = 'ALKI_KEY_PASSPHRASE';
