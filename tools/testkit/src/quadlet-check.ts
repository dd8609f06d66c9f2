import { parseUnitFile, splitSystemdCommandLine } from './systemd-syntax.js';

// Podman's own quadlet generator (quadlet-generator.ts) turns a .container file
// into a unit and refuses unknown keys, but passes most values on unchecked
// (`PublishPort=80 80` converts, then fails at `podman run`). This check reads
// the values' forms against podman-systemd.unit(5): ports, volumes, booleans,
// durations, Exec= as a systemd command line.

/** Keys that take one value; quadlet uses the last, so a second one is a mistake. */
const SINGLE = new Set([
  'Image',
  'ContainerName',
  'Exec',
  'User',
  'Group',
  'ReadOnly',
  'RunInit',
  'NoNewPrivileges',
  'HealthCmd',
  'HealthInterval',
  'HealthTimeout',
  'HealthStartPeriod',
  'HealthRetries',
]);
const BOOLEAN = new Set(['ReadOnly', 'RunInit', 'NoNewPrivileges', 'ReadOnlyTmpfs', 'Notify']);
const DURATION = new Set(['HealthInterval', 'HealthTimeout', 'HealthStartPeriod']);
/** The sections a .container file may hold: its own, and those passed on to the unit. */
const SECTIONS = new Set(['Unit', 'Container', 'Service', 'Install']);

/** What checkQuadletContainer found. */
export interface QuadletCheck {
  problems: string[];
  /** The [Container] settings, in order. */
  container: Array<[string, string]>;
}

function checkValue(key: string, value: string): string | undefined {
  if (BOOLEAN.has(key) && !/^(yes|no|true|false|on|off|1|0)$/.test(value))
    return `${key}=${value} is not a boolean`;
  if (DURATION.has(key) && !/^\d+(ms|s|m|h)$/.test(value)) return `${key}=${value} is not a duration`;
  if (key === 'HealthRetries' && !/^\d+$/.test(value)) return `${key}=${value} is not a count`;
  if (
    key === 'PublishPort' &&
    !/^(([^:\s]+|\[[0-9a-fA-F:]+\]):)?(\d+(-\d+)?:)?\d+(-\d+)?(\/(tcp|udp))?$/.test(value)
  )
    return `PublishPort=${value} is not [[ip:]hostPort:]containerPort[/proto]`;
  if (key === 'Volume') {
    const [source, target, options, extra] = value.split(':');
    if (!source || !target?.startsWith('/') || extra !== undefined)
      return `Volume=${value} is not SOURCE:/TARGET[:OPTIONS]`;
    if (!source.startsWith('/') && !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(source))
      return `Volume=${value}: the source is neither an absolute path nor a volume name`;
    if (options !== undefined && !/^(ro|rw|z|Z|U|O)(,(ro|rw|z|Z|U|O))*$/.test(options))
      return `Volume=${value} has unknown options`;
  }
  if (key === 'Environment') {
    for (const word of splitSystemdCommandLine(value))
      if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(word)) return `Environment word ${word} is not NAME=value`;
  }
  if (key === 'Exec' || key === 'HealthCmd') splitSystemdCommandLine(value);
  return undefined;
}

/**
 * Checks a Podman quadlet `.container` file against podman-systemd.unit(5):
 * known sections, an Image, one value for the
 * single-valued keys, and well-formed values (Exec= as a systemd command
 * line with nothing left to expand, ports, volumes, booleans, durations).
 */
export function checkQuadletContainer(text: string): QuadletCheck {
  const problems: string[] = [];
  let sections;
  try {
    sections = parseUnitFile(text);
  } catch (error) {
    return { problems: [(error as Error).message], container: [] };
  }
  for (const section of sections)
    if (!SECTIONS.has(section.name)) problems.push(`[${section.name}] is not a section of a .container file`);
  const containers = sections.filter((s) => s.name === 'Container');
  if (containers.length !== 1) problems.push(`expected one [Container] section, found ${containers.length}`);
  const container = containers.flatMap((s) => s.entries);
  const seen = new Set<string>();
  for (const [key, value] of container) {
    if (SINGLE.has(key) && seen.has(key)) problems.push(`${key} is set more than once`);
    seen.add(key);
    try {
      const problem = checkValue(key, value);
      if (problem) problems.push(problem);
    } catch (error) {
      problems.push(`${key}=${value}: ${(error as Error).message}`);
    }
  }
  const image = container.find(([key]) => key === 'Image')?.[1];
  if (!image) problems.push('[Container] has no Image=');
  return { problems, container };
}
