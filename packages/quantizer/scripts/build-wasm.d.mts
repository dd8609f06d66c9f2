export function compileKQuants(): Buffer;
export function moduleSource(bytes: Buffer): string;
