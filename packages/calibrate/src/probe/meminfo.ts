// A pure reader of Linux's /proc/meminfo (`Key:   12345 kB` lines).

/** Memory as the kernel reports it, in bytes. */
export interface MemInfo {
  totalBytes: number;
  /** The kernel's estimate of memory available to new work without swapping (MemAvailable). */
  availableBytes: number;
  swapTotalBytes: number;
}

/**
 * Reads /proc/meminfo text. Kernels before 3.14 have no MemAvailable; then
 * free + buffers + page cache stands in for it, as `free` did.
 *
 * @example
 * const memory = parseMemInfo(fs.readFileSync('/proc/meminfo', 'utf8'));
 */
export function parseMemInfo(text: string): MemInfo {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z0-9_()]+):\s+(\d+)(?:\s+kB)?\s*$/.exec(line);
    // The values are in KiB although the file says kB (fs/proc/meminfo.c, show_val_kb).
    if (match) values.set(match[1], Number(match[2]) * (line.trimEnd().endsWith('kB') ? 1024 : 1));
  }
  const total = values.get('MemTotal') ?? 0;
  const available =
    values.get('MemAvailable') ??
    (values.get('MemFree') ?? 0) + (values.get('Buffers') ?? 0) + (values.get('Cached') ?? 0);
  return {
    totalBytes: total,
    availableBytes: Math.min(available, total),
    swapTotalBytes: values.get('SwapTotal') ?? 0,
  };
}
