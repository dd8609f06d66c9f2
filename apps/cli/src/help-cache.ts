// yargs renders the whole help text of a command as soon as its handler
// starts (command.js calls usage.cacheHelpMessage(): about 50 ms of CPU on a
// quiet machine, paid by every command before its work goes on), so that a
// later failure could print it. Our .fail() never prints help, so the text is
// never read: rendering is skipped. --help renders as before (usage.help()).
// The usage object is yargs' internal API; if a yargs release moves it, this
// does nothing and only the cost comes back.
export function skipHelpCache(parser: unknown): void {
  type Usage = { cacheHelpMessage?: () => void };
  const internals = (
    parser as { getInternalMethods?: () => { getUsageInstance?: () => Usage } }
  ).getInternalMethods?.();
  const usage = internals?.getUsageInstance?.();
  if (typeof usage?.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => undefined;
}
