/**
 * `crio-build doctor`: checks everything a run needs on this machine and every error message
 * sends people here for, each finding with its fix: the Docker engine (or each host of the
 * settings file, connected the way a build connects: TLS certificates and ssh host keys checked),
 * qemu binfmt for the other arch (arm64 on an amd64 machine, x86_64 on an arm64 one), debootstrap
 * and root (to make the base images), git, tar, gpg, xz, the binutils that strip the other arch's
 * binaries, dpkg-deb, and free disk for the cache, the artifacts and the engine's images.
 */
import { existsSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { run } from '../core/run.js';
import type { HostConfig } from '../settings/settings.js';
import { baseImageTag } from '../hosts/images/base-image.js';
import { connectDocker, type DockerDriver } from '../hosts/docker.js';
import { BINFMT_FIX, checkBinfmt as binfmtReady, nodeHostArch } from '../hosts/qemu.js';
import { connectHost, insecureWarning, type HostDriver } from '../hosts/host-trust.js';
import { SUPPORTED_ARCHES, type Arch } from '../recipe/schema.js';

export interface Finding {
  check: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

const MIN_FREE_GIB = 10;

export interface DoctorOptions {
  cacheDir: string;
  artifactsDir: string;
  /** The settings file's hosts: each is checked as a build connects to it. Absent: the local engine. */
  hosts?: HostConfig[];
  /** This machine's arch (default: Node's); the other arch's binaries need qemu. */
  hostArch?: Arch;
  /** Where binfmt_misc is mounted (default /proc/sys/fs/binfmt_misc). */
  binfmtRoot?: string;
}

export async function runDoctor(opts: DoctorOptions): Promise<Finding[]> {
  const docker = opts.hosts ? await checkHosts(opts.hosts) : await checkDocker();
  const local = docker.driver;
  const findings: Array<Finding | Promise<Finding> | Promise<Finding[]>> = [
    ...docker.findings,
    ...otherArches(opts.hostArch).map(async (a) => binfmtFinding(a, opts.hostArch, opts.binfmtRoot)),
    checkBaseImageTools(local),
    tool('git', ['--version'], 'sudo apt-get install -y git', 'fetches the sources'),
    checkTar(),
    tool('gpg', ['--version'], 'sudo apt-get install -y gnupg', 'signs the apt repository'),
    tool('xz', ['--version'], 'sudo apt-get install -y xz-utils', 'compresses packages and Packages.xz'),
    tool('dpkg-deb', ['--version'], 'sudo apt-get install -y dpkg', 'checks .deb files (and the test suite uses it)'),
    ...otherArches(opts.hostArch).map((a) => checkStrip(a)),
    checkDisk(opts.cacheDir, 'cache'),
    checkDisk(opts.artifactsDir, 'artifacts'),
    checkEngineDisk(local),
  ];
  const out = (await Promise.all(findings)).flat();
  await docker.close();
  return out;
}

/** Arches whose binaries this machine runs only under qemu. */
function otherArches(given?: Arch): Arch[] {
  let host: Arch;
  try {
    host = given ?? nodeHostArch();
  } catch {
    return [];
  }
  return SUPPORTED_ARCHES.filter((a) => a !== host);
}

interface DockerFindings {
  findings: Finding[];
  /** An engine to ask about images and disk: the local one, or the first host that answered. */
  driver?: DockerDriver;
  close(): Promise<void>;
}

async function checkDocker(): Promise<DockerFindings> {
  const where = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
  try {
    const driver = await withTimeout(connectDocker(), 5000);
    const version = await withTimeout(driver.client.version(), 5000);
    return { findings: [{ check: 'docker', ok: true, detail: `Docker Engine ${version.Version} (API ${version.ApiVersion}) at ${where}` }], driver, close: async () => undefined };
  } catch (err) {
    return {
      findings: [
        {
          check: 'docker',
          ok: false,
          detail: `no Docker daemon answers at ${where}: ${(err as Error).message.split('\n')[0]}`,
          fix: 'sudo apt-get install -y docker.io && sudo systemctl start docker (without systemd: sudo dockerd &), or set DOCKER_HOST',
        },
      ],
      close: async () => undefined,
    };
  }
}

/** Each host of the settings file, connected as a build connects (trust checks included), asked its arch. */
async function checkHosts(hosts: HostConfig[]): Promise<DockerFindings> {
  const drivers: HostDriver[] = [];
  const findings = await Promise.all(
    hosts.map(async (h): Promise<Finding> => {
      const check = `host ${h.name}`;
      const warnings: string[] = [];
      try {
        const driver = await withTimeout(connectHost(h, (m) => warnings.push(m)), 30_000);
        drivers.push(driver);
        const v = await withTimeout(driver.client.version(), 10_000);
        const arch = await driver.hostArch();
        const how = h.endpoint.startsWith('ssh://') ? ', ssh host key checked' : h.tls ? ', TLS certificate checked' : '';
        if (h.platforms.length > 0 && !h.platforms.includes(arch)) {
          return { check, ok: false, detail: `${h.endpoint}: Docker ${v.Version} on ${arch}, but the settings say its platforms are [${h.platforms.join(', ')}]`, fix: `list ${arch} among the host's platforms (the arches it runs natively)` };
        }
        if (h.insecure) return { check, ok: true, detail: `${h.endpoint}: Docker ${v.Version} on ${arch}; ${warnings[0] ?? insecureWarning(h)}`, fix: 'give it TLS: tls: { ca, cert, key }, the engine run with --tlsverify' };
        return { check, ok: true, detail: `${h.endpoint}: Docker ${v.Version} (API ${v.ApiVersion}) on ${arch}${how}` };
      } catch (err) {
        const e = err as Error & { hint?: string };
        return { check, ok: false, detail: `${h.endpoint}: ${e.message.split('\n')[0]}`, fix: e.hint ?? 'start its engine, or fix its entry in the hosts: section of the settings file' };
      }
    }),
  );
  return { findings, driver: drivers.find((d) => !d.endpoint.startsWith('tcp:')) ?? drivers[0], close: async () => void (await Promise.all(drivers.map((d) => d.close?.().catch(() => undefined)))) };
}

/** arm64 binaries run on an amd64 host (and amd64 ones on an arm64 host) through qemu's binfmt registration. */
async function binfmtFinding(arch: Arch, host?: Arch, root = '/proc/sys/fs/binfmt_misc'): Promise<Finding> {
  try {
    await binfmtReady(arch, host, root);
    return { check: `qemu ${arch}`, ok: true, detail: `binfmt registration for ${arch} binaries enabled, with the F flag` };
  } catch (err) {
    const e = err as Error & { hint?: string };
    const mounted = existsSync(`${root}/status`);
    return { check: `qemu ${arch}`, ok: false, detail: mounted ? e.message : 'binfmt_misc is not mounted', fix: e.hint ?? BINFMT_FIX[arch] };
  }
}

/**
 * Base images are made with debootstrap, which needs root. Not needed while the engine has the
 * base images of both arches (or is a remote one that has them).
 */
async function checkBaseImageTools(driver: DockerDriver | undefined): Promise<Finding[]> {
  const have: Arch[] = [];
  for (const a of SUPPORTED_ARCHES) if (driver && (await driver.inspectImage(baseImageTag(a)).catch(() => undefined))) have.push(a);
  const missing = SUPPORTED_ARCHES.filter((a) => !have.includes(a));
  const need = missing.length > 0;
  const why = need ? `the base images ${missing.map((a) => baseImageTag(a)).join(', ')} are not there yet and are made with it` : 'not needed now: the base images are there';
  const out: Finding[] = [];
  const deb = await version('debootstrap', ['--version']);
  out.push(deb ? { check: 'debootstrap', ok: true, detail: `${deb} (${why})` } : { check: 'debootstrap', ok: !need, detail: `not installed (${why})`, fix: 'sudo apt-get install -y debootstrap' });
  const root = process.getuid?.() === 0;
  out.push(
    root
      ? { check: 'root', ok: true, detail: 'running as root (debootstrap can make base images)' }
      : { check: 'root', ok: !need, detail: `not running as root (uid ${process.getuid?.() ?? '?'}): ${why}`, ...(need ? { fix: 'make them once as root: sudo crio-build builders bootstrap' } : {}) },
  );
  return out;
}

async function version(cmd: string, args: string[]): Promise<string | undefined> {
  try {
    const { stdout, stderr } = await run(cmd, args, { timeoutMs: 10_000 });
    return (stdout.toString('utf8') || stderr).trim().split('\n')[0];
  } catch {
    return undefined;
  }
}

async function tool(cmd: string, args: string[], fix: string, what: string): Promise<Finding> {
  const v = await version(cmd, args);
  return v ? { check: cmd, ok: true, detail: v } : { check: cmd, ok: false, detail: `${cmd} is not on PATH (it ${what})`, fix };
}

/** The base image's root is packed with GNU tar (--sort=name, --clamp-mtime). */
async function checkTar(): Promise<Finding> {
  const v = await version('tar', ['--version']);
  if (v && /GNU tar/.test(v)) return { check: 'tar', ok: true, detail: v };
  return { check: 'tar', ok: false, detail: v ? `${v}: not GNU tar (base images need --sort=name and --clamp-mtime)` : 'tar is not on PATH', fix: 'sudo apt-get install -y tar' };
}

const TRIPLET: Record<Arch, string> = { arm64: 'aarch64-linux-gnu', amd64: 'x86-64-linux-gnu' };

/** Packages carry stripped binaries: strip for the other arch comes from binutils-<triplet> (or binutils-multiarch). */
async function checkStrip(arch: Arch): Promise<Finding> {
  const cross = `${TRIPLET[arch].replace('x86-64', 'x86_64')}-strip`;
  const v = await version(cross, ['--version']);
  if (v) return { check: `strip ${arch}`, ok: true, detail: `${cross}: ${v}` };
  return { check: `strip ${arch}`, ok: false, detail: `${cross} is not installed: ${arch} binaries would be packaged unstripped (lintian: unstripped-binary-or-object)`, fix: `sudo apt-get install -y binutils-${TRIPLET[arch]}` };
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

/** The engine's images (a builder is 1.5 to 2 GB) live in its data root. */
async function checkEngineDisk(driver: DockerDriver | undefined): Promise<Finding[]> {
  if (!driver || !driver.endpoint.startsWith('unix://')) return [];
  const info = (await driver.client.info().catch(() => undefined)) as { DockerRootDir?: string } | undefined;
  const root = info?.DockerRootDir;
  if (!root || !existsSync(root)) return [];
  const f = await checkDisk(root, 'docker');
  return [{ ...f, fix: f.ok ? undefined : `free space in ${root} (\`crio-build builders prune\`, \`docker system prune\`): the builder images take about 2 GB each` }];
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer in ${ms / 1000}s`)), ms).unref())]);
}
