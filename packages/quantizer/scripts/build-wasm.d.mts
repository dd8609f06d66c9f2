export function compileKernels(): Buffer;
export function moduleSource(bytes: Buffer): string;
