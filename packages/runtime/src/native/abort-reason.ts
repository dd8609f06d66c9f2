// llama.cpp reports a fatal error in one line, then may print a backtrace
// (ggml.c, ggml_abort: "GGML_ASSERT(...) failed", then ggml_print_backtrace
// through gdb: "#0 0x... in ..."). A C++ exception that escapes prints
// "terminate called after throwing ..." and its what(). That line, not the
// backtrace's tail, is what a person needs.
const REASON = /GGML_ASSERT|GGML_ABORT|error:|error loading model|terminate called|what\(\)/;
// gdb's and glibc's backtrace lines, which never hold the reason.
const BACKTRACE =
  /^(#\d+\s|\[(New )?(LWP|Thread|Inferior)|Thread \d|\d+\s+\.\.\/|warning: |\/.*\(\+0x[0-9a-f]+\))/;

/** Whether a line of llama.cpp's output states why it failed. */
export function isFailureLine(line: string): boolean {
  return REASON.test(line);
}

/**
 * The most precise reason a llama.cpp process gives for dying, from its
 * output: the assert or exception line when there is one, else the last line
 * that is not part of a backtrace. Pure.
 *
 * @example
 * abortReason('ggml.c:1: GGML_ASSERT(x) failed\n#0 0x1 in f ()'); // 'ggml.c:1: GGML_ASSERT(x) failed'
 */
export function abortReason(output: string): string | undefined {
  const lines = output
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  return lines.find(isFailureLine) ?? lines.filter((line) => !BACKTRACE.test(line)).at(-1);
}
