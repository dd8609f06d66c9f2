import path from 'node:path';
import { rooted, which } from '../lookup.js';
import type { DoctorProbes } from '../probes.js';
import type { CheckResult } from '../types.js';

// `alki image test` runs the image with `podman run --init` (or docker).
const NEEDED_BY = ['image test'];

// containers.conf(5): CONTAINERS_CONF names the one file to read; otherwise
// the distribution's defaults, then the administrator's, then the user's.
function configFiles(probes: DoctorProbes): string[] {
  if (probes.env.CONTAINERS_CONF) return [probes.env.CONTAINERS_CONF];
  const home = probes.env.HOME;
  return [
    rooted(probes, '/usr/share/containers/containers.conf'),
    rooted(probes, '/etc/containers/containers.conf'),
    ...(home ? [path.join(home, '.config/containers/containers.conf')] : []),
  ];
}

/** The last uncommented `key = "value"` among the containers.conf files. */
async function configValue(probes: DoctorProbes, key: string): Promise<string | undefined> {
  let value: string | undefined;
  for (const file of configFiles(probes)) {
    const text = await probes.readText(file);
    const match = text && new RegExp(`^\\s*${key}\\s*=\\s*"([^"]*)"`, 'm').exec(text);
    if (match) value = match[1];
  }
  return value;
}

// containers.conf's default [engine.runtimes] search paths for crun and runc.
const RUNTIME_DIRS = [
  '/usr/bin',
  '/usr/sbin',
  '/usr/local/bin',
  '/usr/local/sbin',
  '/sbin',
  '/bin',
  '/usr/lib/cri-o-runc/sbin',
];
// podman's default container init (containers.conf init_path).
const DEFAULT_INIT = '/usr/libexec/podman/catatonit';

async function findRuntime(probes: DoctorProbes, name: string): Promise<string | undefined> {
  for (const dir of RUNTIME_DIRS) {
    const candidate = rooted(probes, path.join(dir, name));
    if (await probes.isExecutable(candidate)) return candidate;
  }
  return which(probes, name);
}

async function checkEngine(
  probes: DoctorProbes,
): Promise<{ result: CheckResult; engine?: 'podman' | 'docker' }> {
  const base = { id: 'containers.engine', title: 'container engine', neededBy: NEEDED_BY };
  const problems: string[] = [];
  for (const name of ['podman', 'docker'] as const) {
    const program = await which(probes, name);
    if (!program) {
      problems.push(`${name} is not installed`);
      continue;
    }
    // `info` talks to the engine: a docker client with no daemon behind it fails here.
    const format = name === 'podman' ? '{{.Version.Version}}' : '{{.ServerVersion}}';
    const info = await probes.run(program, ['info', '--format', format], 30_000);
    if (info.status === 0) {
      return {
        result: { ...base, status: 'ok', detail: `${name} ${info.stdout.trim()} (${program})` },
        engine: name,
      };
    }
    problems.push(
      `${name} info failed: ${info.error ?? (info.stderr.trim().split('\n').pop() || `exit ${info.status}`)}`,
    );
  }
  return {
    result: {
      ...base,
      status: 'fail',
      detail: problems.join('; '),
      fix: 'sudo apt-get install podman runc catatonit (or start the Docker daemon)',
    },
  };
}

/**
 * A container engine that answers (podman, else docker), and for podman the
 * container init that `--init` runs (catatonit) and the OCI runtime (runc or
 * crun), looked up where podman looks for them.
 */
export async function checkContainers(probes: DoctorProbes): Promise<CheckResult[]> {
  const { result: engineResult, engine } = await checkEngine(probes);
  if (engine === 'docker') {
    const byDaemon = 'provided by the Docker daemon';
    return [
      engineResult,
      {
        id: 'containers.init',
        title: 'container init',
        status: 'ok',
        detail: `docker-init, ${byDaemon}`,
        neededBy: NEEDED_BY,
      },
      {
        id: 'containers.runtime',
        title: 'OCI runtime',
        status: 'ok',
        detail: `runc, ${byDaemon}`,
        neededBy: NEEDED_BY,
      },
    ];
  }

  const initPath = (await configValue(probes, 'init_path')) ?? DEFAULT_INIT;
  const init = rooted(probes, initPath);
  const initResult: CheckResult = (await probes.isExecutable(init))
    ? {
        id: 'containers.init',
        title: 'container init',
        status: 'ok',
        detail: `${init} (podman --init)`,
        neededBy: NEEDED_BY,
      }
    : {
        id: 'containers.init',
        title: 'container init',
        status: 'fail',
        detail: `${init} is missing, so \`podman run --init\` fails ("container-init binary not found")`,
        fix:
          initPath === DEFAULT_INIT
            ? 'sudo apt-get install catatonit'
            : `sudo apt-get install catatonit, or set init_path in containers.conf to where catatonit is (now "${initPath}")`,
        neededBy: NEEDED_BY,
      };

  const configured = await configValue(probes, 'runtime');
  let runtimeResult: CheckResult | undefined;
  for (const name of configured ? [configured] : ['crun', 'runc']) {
    const found = await findRuntime(probes, name);
    if (found) {
      runtimeResult = {
        id: 'containers.runtime',
        title: 'OCI runtime',
        status: 'ok',
        detail: `${name} (${found})${configured ? ', as containers.conf sets' : ''}`,
        neededBy: NEEDED_BY,
      };
      break;
    }
  }
  runtimeResult ??= {
    id: 'containers.runtime',
    title: 'OCI runtime',
    status: 'fail',
    detail: configured
      ? `containers.conf sets runtime = "${configured}", which is not installed`
      : 'neither crun nor runc is installed, so podman cannot start a container',
    fix:
      configured && configured !== 'runc'
        ? `sudo apt-get install runc, and set runtime = "runc" in containers.conf (or install ${configured})`
        : 'sudo apt-get install runc',
    neededBy: NEEDED_BY,
  };
  return [engineResult, initResult, runtimeResult];
}
