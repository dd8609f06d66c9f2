// Runs one conversion in its own process, for tools/bench/convert.ts, and
// prints its wall time and the process's peak RSS as JSON.
//
//   npx tsx tools/bench/convert-child.ts <checkpoint> <output.gguf> [outtype]
import { convert, type OutType } from '@alki/converter';

const [input, output, outtype = 'f16'] = process.argv.slice(2);
const start = process.hrtime.bigint();
await convert({ input, output, outtype: outtype as OutType, force: true });
const ms = Number(process.hrtime.bigint() - start) / 1e6;
// maxRSS is in KiB on Linux.
console.log(JSON.stringify({ ms, maxRssBytes: process.resourceUsage().maxRSS * 1024 }));
