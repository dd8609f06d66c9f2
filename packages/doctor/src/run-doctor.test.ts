import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { runDoctor, systemProbes, type CheckResult, type DoctorProbes, type DoctorReport } from './index.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alki-doctor-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function check(report: DoctorReport, id: string): CheckResult {
  const found = report.checks.find((c) => c.id === id);
  if (!found) throw new Error(`no check ${id} in ${report.checks.map((c) => c.id).join(', ')}`);
  return found;
}

/** A directory with executables named `names` that link to the real programs on PATH. */
function binDir(name: string, programs: string[]): string {
  const bin = path.join(dir, name);
  fs.mkdirSync(bin, { recursive: true });
  for (const program of programs) {
    const real = (process.env.PATH ?? '')
      .split(path.delimiter)
      .map((d) => path.join(d, program))
      .find((p) => fs.existsSync(p));
    if (!real) throw new Error(`${program} is not installed; run tools/setup/apt.sh`);
    fs.symlinkSync(real, path.join(bin, program));
  }
  return bin;
}

/** An empty file system root, with the given system paths present as executables. */
function rootWith(name: string, files: string[]): string {
  const root = path.join(dir, name);
  for (const file of files) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), '#!/bin/sh\n', { mode: 0o755 });
  }
  fs.mkdirSync(root, { recursive: true });
  return root;
}

// The container checks below do not look at node-llama-cpp: skip loading it (3 s each).
const withoutBinding = (probes: DoctorProbes): DoctorProbes => ({
  ...probes,
  loadBinding: async () => ({ loaded: false, error: 'not probed in this test' }),
});

describe('runDoctor on this machine', () => {
  it('finds podman, its init and runtime, node-llama-cpp and the native tools where npm test installed them', async () => {
    const report = await runDoctor(systemProbes(), { outputDir: dir });
    for (const id of [
      'node',
      'llama.binding',
      'llama.tools',
      'containers.engine',
      'containers.init',
      'containers.runtime',
    ])
      expect({ id, status: check(report, id).status }).toEqual({ id, status: 'ok' });
    expect(check(report, 'llama.binding').detail).toMatch(/CPU features it uses: .*AVX|NEON/);
    expect(report.ok).toBe(true);
  }, 120_000);

  it('reports a missing catatonit as a failed check with its fix, on a root that lacks it', async () => {
    const probes = withoutBinding(systemProbes({ root: rootWith('no-catatonit', ['/usr/sbin/runc']) }));
    const report = await runDoctor(probes, { outputDir: dir, commands: ['image'] });
    expect(check(report, 'containers.init')).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('/usr/libexec/podman/catatonit is missing'),
      fix: 'sudo apt-get install catatonit',
      neededBy: ['image test'],
    });
    expect(report.ok).toBe(false);
  }, 120_000);

  it('reports a missing runtime when neither the root nor PATH has runc or crun', async () => {
    const probes = withoutBinding(
      systemProbes({
        root: rootWith('no-runtime', ['/usr/libexec/podman/catatonit']),
        env: { ...process.env, PATH: binDir('podman-only', ['podman']) },
      }),
    );
    const report = await runDoctor(probes, { outputDir: dir, commands: ['image'] });
    expect(check(report, 'containers.init').status).toBe('ok');
    expect(check(report, 'containers.runtime')).toMatchObject({
      status: 'fail',
      detail: 'neither crun nor runc is installed, so podman cannot start a container',
      fix: 'sudo apt-get install runc',
    });
  }, 120_000);

  it('follows containers.conf: a runtime it names must exist, and init_path moves the init', async () => {
    const conf = path.join(dir, 'containers.conf');
    fs.writeFileSync(
      conf,
      '[containers]\ninit_path = "/opt/init/catatonit"\n[engine]\n# runtime = "runc"\nruntime = "crun"\n',
    );
    const probes = withoutBinding(
      systemProbes({
        root: rootWith('configured', ['/usr/sbin/runc', '/usr/libexec/podman/catatonit']),
        env: { ...process.env, CONTAINERS_CONF: conf, PATH: binDir('podman-only-2', ['podman']) },
      }),
    );
    const report = await runDoctor(probes, { outputDir: dir, commands: ['image'] });
    expect(check(report, 'containers.runtime')).toMatchObject({
      status: 'fail',
      detail: 'containers.conf sets runtime = "crun", which is not installed',
      fix: 'sudo apt-get install runc, and set runtime = "runc" in containers.conf (or install crun)',
    });
    expect(check(report, 'containers.init')).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('set init_path in containers.conf'),
    });
  }, 120_000);

  it('fails the engine check when neither podman nor docker is on PATH, and only commands that need it fail', async () => {
    const probes = withoutBinding(systemProbes({ env: { ...process.env, PATH: binDir('empty-bin', []) } }));
    const forImage = await runDoctor(probes, { outputDir: dir, commands: ['image'] });
    expect(check(forImage, 'containers.engine')).toMatchObject({
      status: 'fail',
      detail: 'podman is not installed; docker is not installed',
      fix: expect.stringContaining('apt-get install podman runc catatonit'),
    });
    expect(forImage.ok).toBe(false);
    // `pack` does not run containers: the same gap is only a warning.
    const forPack = await runDoctor(probes, { outputDir: dir, commands: ['pack'] });
    expect(check(forPack, 'containers.engine').status).toBe('warn');
    expect(check(forPack, 'oci.skopeo').status).toBe('warn');
  }, 120_000);
});

/** Probes for a machine that has everything, to change one thing at a time. */
function healthy(overrides: Partial<DoctorProbes> = {}): DoctorProbes {
  return {
    env: { PATH: '/bin', HOME: '/home/u', HF_HOME: '/home/u/hf', DOCKER_CONFIG: '/nonexistent/docker' },
    root: '/',
    nodeVersion: '20.19.0',
    isExecutable: async () => true,
    readText: async (file) =>
      file.endsWith('cpuinfo') ? 'processor\t: 0\nflags\t\t: pni ssse3 avx avx2 fma f16c\n' : undefined,
    run: async (program) => ({
      status: 0,
      stdout: program.endsWith('podman') ? '4.3.1\n' : 'x version 1\n',
      stderr: program.endsWith('llama-server') ? 'version: 0.4.0-dev (build 1, commit abc)\n' : '',
    }),
    freeBytes: async (d) => ({ checked: d, bytes: 100 * 1024 ** 3 }),
    isWritable: async () => true,
    loadBinding: async () => ({
      loaded: true,
      systemInfo: 'CPU : SSE3 = 1 | AVX = 1 | AVX2 = 1 | FMA = 1 | LLAMAFILE = 1 | ',
      release: 'v0.4.0',
      buildType: 'prebuilt',
      nodeLlamaCppVersion: '3.21.1',
    }),
    findLlamaTools: () => ({
      tag: 'v0.4.0',
      binDir: '/cache/bin',
      paths: { 'llama-server': '/cache/bin/llama-server' } as never,
    }),
    llamaCppTag: () => 'v0.4.0',
    ...overrides,
  };
}

describe('runDoctor checks', () => {
  it('passes a machine that has everything', async () => {
    const report = await runDoctor(healthy(), { outputDir: '/out' });
    expect(report.checks.filter((c) => c.status !== 'ok')).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it('fails a Node older than the engines field, for every command', async () => {
    const report = await runDoctor(healthy({ nodeVersion: '18.19.0' }), { commands: ['verify'] });
    expect(check(report, 'node')).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('Node 20.10'),
    });
  });

  it('fails a binding that a CPU cannot run, and one that uses a feature the CPU lacks', async () => {
    const sigill = await runDoctor(
      healthy({
        loadBinding: async () => ({
          loaded: false,
          error: 'the binary uses a CPU instruction this CPU does not have (SIGILL)',
        }),
      }),
    );
    expect(check(sigill, 'llama.binding')).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('node-llama-cpp source build'),
      neededBy: ['validate', 'serve', 'pack', 'calibrate'],
    });
    const avx512 = await runDoctor(
      healthy({
        loadBinding: async () => ({
          loaded: true,
          systemInfo: 'CPU : AVX2 = 1 | AVX512 = 1 | AVX512_VNNI = 1 | ',
          release: 'v0.4.0',
          buildType: 'localBuild',
          nodeLlamaCppVersion: '3.21.1',
        }),
      }),
    );
    expect(check(avx512, 'llama.binding')).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('uses AVX512, AVX512_VNNI, which this CPU does not report'),
    });
  });

  it('fails missing native tools with the build command, and warns about tools of another llama.cpp', async () => {
    const missing = await runDoctor(healthy({ findLlamaTools: () => undefined }), { commands: ['image'] });
    expect(check(missing, 'llama.tools')).toMatchObject({
      status: 'fail',
      fix: expect.stringMatching(/^npx alki tools build/),
    });
    const other = await runDoctor(
      healthy({
        findLlamaTools: () => ({
          tag: 'path',
          binDir: '/usr/bin',
          paths: { 'llama-server': '/usr/bin/llama-server' } as never,
        }),
        run: async () => ({ status: 0, stdout: '', stderr: 'version: 6500 (deadbee)\n' }),
      }),
    );
    expect(check(other, 'llama.tools')).toMatchObject({
      status: 'warn',
      detail: expect.stringContaining('node-llama-cpp bundles llama.cpp v0.4.0'),
    });
  });

  it('accepts docker with a running daemon in place of podman', async () => {
    const report = await runDoctor(
      healthy({
        isExecutable: async (file) => !file.endsWith('podman'),
        run: async (program, args) =>
          program.endsWith('docker')
            ? { status: 0, stdout: '27.1.1\n', stderr: '' }
            : { status: 0, stdout: args.join(' '), stderr: 'version: 0.4.0' },
      }),
    );
    expect(check(report, 'containers.engine').detail).toMatch(/^docker 27.1.1/);
    expect(check(report, 'containers.init').detail).toMatch(/Docker daemon/);
  });

  it('fails below 1 GiB free, and warns below 10 GiB', async () => {
    const report = await runDoctor(
      healthy({
        freeBytes: async (d) => ({ checked: d, bytes: d.includes('hf') ? 0.5 * 1024 ** 3 : 5 * 1024 ** 3 }),
      }),
      { outputDir: '/out' },
    );
    expect(check(report, 'disk.Hugging-Face-cache')).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('HF_HOME'),
    });
    expect(check(report, 'disk.output')).toMatchObject({
      status: 'warn',
      detail: '5.0 GiB free for /out: enough for small models only',
    });
  });

  it('names where the hub token comes from and never the token', async () => {
    const report = await runDoctor(healthy({ env: { ...healthy().env, HF_TOKEN: 'hf_secretsecret' } }));
    expect(check(report, 'hub.token').detail).toBe('from $HF_TOKEN (not shown)');
    expect(JSON.stringify(report)).not.toContain('hf_secretsecret');
    const unwritable = await runDoctor(healthy({ isWritable: async () => false }), { commands: ['pack'] });
    expect(check(unwritable, 'hub.cache')).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('HF_HOME'),
    });
  });

  it('names registry logins and helpers without their secrets, and fails a helper that is not on PATH', async () => {
    const config = path.join(dir, 'docker');
    fs.mkdirSync(config, { recursive: true });
    fs.writeFileSync(
      path.join(config, 'config.json'),
      JSON.stringify({
        auths: { 'ghcr.io': { auth: Buffer.from('me:ghp_secretsecret').toString('base64') } },
        credHelpers: { 'quay.io': 'alki-test-missing' },
      }),
    );
    const env = { ...healthy().env, DOCKER_CONFIG: config, ALKI_REGISTRY_TOKEN: 'tok_secretsecret' };
    const report = await runDoctor(
      healthy({ env, isExecutable: async (file) => !file.includes('docker-credential') }),
    );
    expect(check(report, 'registry.credentials')).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('names docker-credential-alki-test-missing, which is not on PATH'),
      fix: expect.stringContaining('remove it from credHelpers/credsStore'),
      neededBy: ['publish', 'pull', 'tags'],
    });
    const installed = await runDoctor(healthy({ env }));
    expect(check(installed, 'registry.credentials')).toMatchObject({
      status: 'ok',
      detail: expect.stringMatching(
        /^\$ALKI_REGISTRY_TOKEN; logins for ghcr.io; docker-credential-alki-test-missing for quay.io/,
      ),
    });
    expect(JSON.stringify([report, installed])).not.toMatch(/secretsecret/);
  });
});
