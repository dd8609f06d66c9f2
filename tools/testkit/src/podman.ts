import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { requireCommand } from './require-command.js';

export interface PodmanEnvironment {
  /** Environment for podman, buildah and skopeo: CONTAINERS_CONF and CONTAINERS_STORAGE_CONF. */
  env: NodeJS.ProcessEnv;
  dir: string;
  cleanup(): void;
}

/**
 * Writes the containers.conf and storage.conf this VM needs (runc, host
 * network, cgroupfs, vfs storage in a temp dir: crun and the default
 * netavark/overlay setup fail in small VMs with hybrid cgroups) and
 * returns the environment that makes podman use them.
 */
export function podmanEnvironment(): PodmanEnvironment {
  requireCommand('podman', 'the container tests');
  requireCommand('runc', 'the container tests');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-podman-'));
  const containersConf = path.join(dir, 'containers.conf');
  const storageConf = path.join(dir, 'storage.conf');
  fs.writeFileSync(
    containersConf,
    [
      '[containers]',
      'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]',
      'netns = "host"',
      '[engine]',
      'runtime = "runc"',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      '',
    ].join('\n'),
  );
  fs.writeFileSync(
    storageConf,
    [
      '[storage]',
      'driver = "vfs"',
      `graphroot = "${path.join(dir, 'graph')}"`,
      `runroot = "${path.join(dir, 'run')}"`,
      '',
    ].join('\n'),
  );
  return {
    env: { ...process.env, CONTAINERS_CONF: containersConf, CONTAINERS_STORAGE_CONF: storageConf },
    dir,
    cleanup() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
