/**
 * `crio-build doctor`: checks what a build needs on this host, each finding with its fix.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export interface Finding {
  check: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

const MIN_FREE_GIB = 10;

export async function runDoctor(opts: { cacheDir: string; artifactsDir: string }): Promise<Finding[]> {
  return Promise.all([checkDocker(), checkBinfmt('aarch64', 'arm64'), checkGit(), checkDisk(opts.cacheDir, 'cache'), checkDisk(opts.artifactsDir, 'artifacts')]);
}

async function checkDocker(): Promise<Finding> {
  const where = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
  try {
    // Loaded here, not at start-up: dockerode is heavy and most commands never need it.
    const { default: Docker } = await import('dockerode');
    const version = await withTimeout(new Docker().version(), 5000);
    return { check: 'docker', ok: true, detail: `Docker Engine ${version.Version} (API ${version.ApiVersion}) at ${where}` };
  } catch (err) {
    return {
      check: 'docker',
      ok: false,
      detail: `no Docker daemon answers at ${where}: ${(err as Error).message}`,
      fix: 'sudo apt-get install -y docker.io && sudo systemctl start docker (without systemd: sudo dockerd &), or set DOCKER_HOST',
    };
  }
}

/** arm64 binaries run on an amd64 host through a binfmt_misc registration for qemu. */
export function checkBinfmt(qemuArch: string, arch: string): Finding {
  const entry = `/proc/sys/fs/binfmt_misc/qemu-${qemuArch}`;
  const fix = `sudo apt-get install -y qemu-user-static binfmt-support && sudo update-binfmts --enable qemu-${qemuArch}`;
  if (process.arch === (arch === 'arm64' ? 'arm64' : 'x64')) return { check: `qemu ${arch}`, ok: true, detail: `not needed: this host is ${arch}` };
  if (!existsSync('/proc/sys/fs/binfmt_misc/status')) {
    return { check: `qemu ${arch}`, ok: false, detail: 'binfmt_misc is not mounted', fix: `sudo mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc && ${fix}` };
  }
  if (!existsSync(entry)) return { check: `qemu ${arch}`, ok: false, detail: `no binfmt registration ${entry}`, fix };
  const text = readFileSync(entry, 'utf8');
  if (!text.startsWith('enabled')) return { check: `qemu ${arch}`, ok: false, detail: `${entry} is disabled`, fix };
  const flags = /flags: (\S*)/.exec(text)?.[1] ?? '';
  if (!flags.includes('F')) {
    return { check: `qemu ${arch}`, ok: false, detail: `${entry} lacks the F (fix-binary) flag, so containers cannot use it`, fix: 'install qemu-user-static (its registrations carry the F flag), then update-binfmts --enable' };
  }
  return { check: `qemu ${arch}`, ok: true, detail: `${entry} enabled (flags ${flags})` };
}

async function checkGit(): Promise<Finding> {
  try {
    const { stdout } = await execFileP('git', ['--version']);
    return { check: 'git', ok: true, detail: stdout.trim() };
  } catch {
    return { check: 'git', ok: false, detail: 'git is not on PATH', fix: 'sudo apt-get install -y git' };
  }
}

async function checkDisk(dir: string, label: string): Promise<Finding> {
  let probe = dir;
  while (!existsSync(probe) && probe !== '/') probe = probe.replace(/\/[^/]*$/, '') || '/';
  const s = await statfs(probe);
  const freeGiB = (s.bavail * s.bsize) / 2 ** 30;
  const ok = freeGiB >= MIN_FREE_GIB;
  return {
    check: `disk (${label})`,
    ok,
    detail: `${freeGiB.toFixed(1)} GiB free at ${probe}`,
    fix: ok ? undefined : `free space or point --${label === 'cache' ? 'cache-dir' : 'artifacts'} elsewhere: a full build needs about ${MIN_FREE_GIB} GiB`,
  };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer in ${ms / 1000}s`)), ms).unref())]);
}
