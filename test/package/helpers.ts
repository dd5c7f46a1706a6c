/**
 * Set-up shared by the package suites: running commands, real builds of the miniature upstreams
 * (natively for amd64; inside an arm64 Debian container under qemu for arm64), and the test images.
 * Everything expensive is cached on disk (.crio-build-cache/package-test, or
 * $CRIO_BUILD_TEST_CACHE/package-test) and in labelled Docker images, so a second run is quick.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { upstreamVersion } from '../../src/recipe/version.js';
import type { Arch } from '../../src/recipe/schema.js';
import { computeShlibsDepends, parseShlibdepsOutput, shlibdepsCommand } from '../../src/build/shlibs.js';
import { buildDir, loadBuiltComponents, writeBuiltComponentRecord, type BuiltComponent } from '../../src/build/outputs.js';
import type { BuildProvenance } from '../../src/build/provenance.js';
import { CNI_PLUGINS_TAG, CONMON_TAG, createUpstreams, CRI_TOOLS_TAG, CRIO_RELEASE_BRANCH, CRIO_TAG_1_18_1, FIXTURE_TREES_DIR, git, type Upstreams, versionOf } from '../fixtures/upstreams.js';

export const REPO_ROOT = resolve(FIXTURE_TREES_DIR, '..', '..', '..');
export const PKG_TEST_CACHE = join(process.env.CRIO_BUILD_TEST_CACHE ?? join(REPO_ROOT, '.crio-build-cache'), 'package-test');
export const GO_BIN = '/usr/lib/go-1.19/bin';
export const BRANCH = CRIO_RELEASE_BRANCH;
export const KUBERNETES = '1.18';

const tempDirs: string[] = [];
process.on('exit', () => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});
export async function tempDir(prefix: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  tempDirs.push(d);
  return d;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<RunResult> {
  return new Promise((resolvePromise) => {
    const child = execFile(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 127) : 0;
      resolvePromise({ code, stdout, stderr });
    });
    // A command that exits without reading stdin makes the write fail with EPIPE: not an error here.
    child.stdin?.on('error', () => {});
    child.stdin?.end(opts.input ?? '');
  });
}

export async function mustRun(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}\nstdout:\n${r.stdout.slice(-4000)}\nstderr:\n${r.stderr.slice(-4000)}`);
  return r;
}

/** `dpkg --compare-versions a op b` as a boolean. */
export async function dpkgCompare(a: string, op: 'lt' | 'gt' | 'eq' | 'le' | 'ge', b: string): Promise<boolean> {
  return (await run('dpkg', ['--compare-versions', a, op, b])).code === 0;
}

// ---- builds of the miniature upstreams ------------------------------------------------------

/** Bump when the build script changes, so cached outputs are not reused. */
const BUILD_SCRIPT_VERSION = 3;

/**
 * The build of one component set, as upstream's Makefiles make it (the commands of
 * test/fixtures/fixtures.test.ts), copied out in the source-tree layout the builder hands over.
 * Arguments: GITHUB_ROOT OUT WORK CRIO_REF CRIO_DEST.
 */
const BUILD_SCRIPT = `#!/bin/bash
set -euo pipefail
GH=$1 OUT=$2 WORK=$3
export PATH=${GO_BIN}:/usr/local/bin:/usr/bin:/bin GOFLAGS=-mod=vendor GOPROXY=off GOSUMDB=off
export HOME=$WORK/home GOCACHE=$WORK/gocache LANG=C LC_ALL=C
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
mkdir -p "$HOME"
clone() { git -c advice.detachedHead=false clone -q --branch "$2" "$GH/$1" "$3"; }

build_crio() { # ref dest
  local src=$WORK/cri-o-$1 dest=$2
  clone cri-o/cri-o "$1" "$src"
  (cd "$src"
   # The fixture's vendor tree (like upstream's) compiles gpgme, btrfs and devicemapper cgo code
   # unless these tags leave them out; this host build has no -dev headers for them.
   make 'BUILDTAGS=containers_image_ostree_stub containers_image_openpgp exclude_graphdriver_btrfs exclude_graphdriver_devicemapper seccomp' bin/crio bin/crio-status bin/pinns >/dev/null
   make crio.conf >/dev/null
   if command -v go-md2man >/dev/null; then make docs GO_MD2MAN="$(command -v go-md2man)" >/dev/null; fi)
  mkdir -p "$dest/bin" "$dest/contrib" "$dest/docs"
  cp "$src/bin/crio" "$src/bin/crio-status" "$src/bin/pinns" "$dest/bin/"
  cp "$src/crio.conf" "$src/crictl.yaml" "$src/crio-umount.conf" "$dest/"
  cp -r "$src/contrib/systemd" "$dest/contrib/"
  cp -r "$src/completions" "$dest/"
  cp "$src"/docs/*.md "$dest/docs/"
  for f in "$src"/docs/*.5 "$src"/docs/*.8; do [ -e "$f" ] && cp "$f" "$dest/docs/"; done
  return 0
}

build_crio "$4" "$OUT/new/cri-o"
build_crio "$5" "$OUT/old/cri-o"

clone containers/conmon ${CONMON_TAG} "$WORK/conmon"
make -C "$WORK/conmon" >/dev/null
mkdir -p "$OUT/new/conmon/bin" && cp "$WORK/conmon/bin/conmon" "$OUT/new/conmon/bin/"

clone containernetworking/plugins ${CNI_PLUGINS_TAG} "$WORK/plugins"
(cd "$WORK/plugins" && GO111MODULE=off CGO_ENABLED=0 ./build_linux.sh -ldflags '-s -w' >/dev/null)
mkdir -p "$OUT/new/cni-plugins/bin" && cp "$WORK"/plugins/bin/* "$OUT/new/cni-plugins/bin/"

clone kubernetes-sigs/cri-tools ${CRI_TOOLS_TAG} "$WORK/cri-tools"
make -C "$WORK/cri-tools" crictl >/dev/null
mkdir -p "$OUT/new/cri-tools/_output" && cp "$WORK/cri-tools/_output/crictl" "$OUT/new/cri-tools/_output/"
`;

/** Binaries of each component, relative to its output directory (for dpkg-shlibdeps). */
const BINARIES: Record<string, (outDir: string) => string[]> = {
  'cri-o': () => ['bin/crio', 'bin/crio-status', 'bin/pinns'],
  conmon: () => ['bin/conmon'],
  'cni-plugins': () => ['bin/bridge', 'bin/host-local', 'bin/loopback'],
  'cri-tools': () => ['_output/crictl'],
};

export interface FixtureSet {
  /** Root to hand to loadBuiltComponents as artifactsDir. */
  artifactsDir: string;
  arch: Arch;
  components: BuiltComponent[];
}

export interface FixtureBuilds {
  /** release-1.18 head (a nightly version) and the pinned conmon, plugins, cri-tools. */
  current: FixtureSet;
  /** The same, with cri-o at its last release tag v1.18.1: the "older build" for upgrades. */
  previous: FixtureSet;
  upstreams: Upstreams;
}

let upstreamsP: Promise<Upstreams> | undefined;
export function upstreams(): Promise<Upstreams> {
  return (upstreamsP ??= tempDir('crio-build-pkg-upstreams-').then((d) => createUpstreams(join(d, 'github'))));
}

async function commitTime(repoPath: string, commit: string): Promise<number> {
  return Number(await git(['show', '-s', '--format=%ct', commit], { gitDir: repoPath }));
}

const buildsP = new Map<Arch, Promise<FixtureBuilds>>();

/** Real builds of the fixture upstreams for `arch`, made once and cached on disk. */
export function fixtureBuilds(arch: Arch): Promise<FixtureBuilds> {
  let p = buildsP.get(arch);
  if (!p) {
    p = makeFixtureBuilds(arch);
    buildsP.set(arch, p);
  }
  return p;
}

async function makeFixtureBuilds(arch: Arch): Promise<FixtureBuilds> {
  const up = await upstreams();
  const head = up.crio.branches[CRIO_RELEASE_BRANCH] as string;
  const tag = up.crio.tags[CRIO_TAG_1_18_1] as string;
  const key = createHash('sha256')
    .update(JSON.stringify({ v: BUILD_SCRIPT_VERSION, script: BUILD_SCRIPT, arch, head, tag, conmon: up.conmon.tags, cni: up.cniPlugins.tags, criTools: up.criTools.tags, md2man: existsSync('/usr/bin/go-md2man') }))
    .digest('hex')
    .slice(0, 16);
  const dir = join(PKG_TEST_CACHE, 'builds', `${arch}-${key}`);

  const versions: Record<string, { version: string; commit: string; time: number }> = {
    'cri-o': {
      version: upstreamVersion({ branch: CRIO_RELEASE_BRANCH }, head, await commitTime(up.crio.path, head), new Map(Object.entries(up.crio.tags)), { versionTags: 'v1.18.*', kubernetes: KUBERNETES }),
      commit: head,
      time: await commitTime(up.crio.path, head),
    },
    conmon: { version: versionOf(CONMON_TAG), commit: up.conmon.tags[CONMON_TAG] as string, time: await commitTime(up.conmon.path, up.conmon.tags[CONMON_TAG] as string) },
    'cni-plugins': { version: versionOf(CNI_PLUGINS_TAG), commit: up.cniPlugins.tags[CNI_PLUGINS_TAG] as string, time: await commitTime(up.cniPlugins.path, up.cniPlugins.tags[CNI_PLUGINS_TAG] as string) },
    'cri-tools': { version: versionOf(CRI_TOOLS_TAG), commit: up.criTools.tags[CRI_TOOLS_TAG] as string, time: await commitTime(up.criTools.path, up.criTools.tags[CRI_TOOLS_TAG] as string) },
  };
  const previousCrio = { version: versionOf(CRIO_TAG_1_18_1), commit: tag, time: await commitTime(up.crio.path, tag) };
  const names = Object.keys(BINARIES);

  if (!existsSync(join(dir, 'complete'))) {
    await mkdir(join(PKG_TEST_CACHE, 'builds'), { recursive: true });
    const tmp = await mkdtemp(join(PKG_TEST_CACHE, 'builds', `.${arch}-`));
    try {
      const out = join(tmp, 'out');
      await mkdir(out);
      await writeFile(join(tmp, 'build.sh'), BUILD_SCRIPT, { mode: 0o755 });
      if (arch === hostArch()) {
        await mkdir(join(tmp, 'work'));
        await mustRun('bash', [join(tmp, 'build.sh'), up.root, out, join(tmp, 'work'), CRIO_RELEASE_BRANCH, CRIO_TAG_1_18_1], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
      } else {
        const image = await toolboxImage(arch);
        await mustRun('docker', [
          'run', '--rm', '--platform', `linux/${arch}`,
          '-v', `${up.root}:/github:ro`, '-v', `${tmp}:/t`,
          image, 'bash', '/t/build.sh', '/github', '/t/out', '/tmp/work', CRIO_RELEASE_BRANCH, CRIO_TAG_1_18_1,
        ]);
      }
      // Records and layout as loadBuiltComponents reads them: <variant>/<branch>/<arch>/build/<name>{,.json}.
      for (const variant of ['current', 'previous'] as const) {
        const bdir = buildDir(join(tmp, variant), CRIO_RELEASE_BRANCH, arch);
        await mkdir(bdir, { recursive: true });
        for (const name of names) {
          const oldCrio = variant === 'previous' && name === 'cri-o';
          const v = oldCrio ? previousCrio : (versions[name] as { version: string; commit: string; time: number });
          if (variant === 'current') await rename(join(out, 'new', name), join(bdir, name));
          else if (oldCrio) await rename(join(out, 'old', name), join(bdir, name));
          else await mustRun('cp', ['-a', join(buildDir(join(tmp, 'current'), CRIO_RELEASE_BRANCH, arch), name), join(bdir, name)]);
          const bins = (BINARIES[name] as (d: string) => string[])(join(bdir, name)).map((b) => join(bdir, name, b));
          const shlibs = await shlibsFor(arch, bins, tmp);
          await writeBuiltComponentRecord(bdir, { name, version: v.version, commit: v.commit, commitTime: v.time, arch, shlibsDepends: shlibs });
        }
      }
      await rm(out, { recursive: true, force: true });
      await writeFile(join(tmp, 'complete'), new Date().toISOString());
      await rm(dir, { recursive: true, force: true });
      await rename(tmp, dir);
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
  }

  const builder = await fixtureBuilder(arch, dir);
  const load = async (variant: 'current' | 'previous'): Promise<FixtureSet> => ({
    artifactsDir: join(dir, variant),
    arch,
    components: (await loadBuiltComponents({ artifactsDir: join(dir, variant), branch: CRIO_RELEASE_BRANCH, arch, components: names })).map((c) => ({
      ...c,
      provenance: fixtureProvenance(c.name, arch, builder, variant === 'previous' && c.name === 'cri-o' ? `tag ${CRIO_TAG_1_18_1}` : undefined),
    })),
  });
  return { current: await load('current'), previous: await load('previous'), upstreams: up };
}

// ---- provenance of the fixture builds (what the SBOMs and .buildinfo files record) ------------

/** The repositories the miniature upstreams stand for (what a recipe names; the fixtures are mirrors of them). */
export const FIXTURE_URLS: Record<string, string> = {
  'cri-o': 'https://github.com/cri-o/cri-o',
  conmon: 'https://github.com/containers/conmon',
  'cni-plugins': 'https://github.com/containernetworking/plugins',
  'cri-tools': 'https://github.com/kubernetes-sigs/cri-tools',
};

/** What BUILD_SCRIPT exports for every build (its export line), as a build's environment is recorded. */
export const FIXTURE_BUILD_ENV: Record<string, string> = { GOFLAGS: '-mod=vendor', GOPROXY: 'off', GOSUMDB: 'off', LANG: 'C', LC_ALL: 'C', PATH: `${GO_BIN}:/usr/local/bin:/usr/bin:/bin` };

export interface FixtureBuilder {
  /** Every Debian package installed where the fixtures were built, `name:arch version` (dpkg-query). */
  packages: string[];
  /** Debian's Go that compiled them: its version file and the sha256 of its go command. */
  goVersion: string;
  goSha256: string;
}

const DPKG_QUERY = ['dpkg-query', '-W', '-f', '${db:Status-Abbrev}|${Package}:${Architecture}|${Version}\\n'];

/**
 * The machine the fixtures of `arch` were built on: this one for its own arch, else the toolbox
 * image. Read once and kept beside the builds (the same reading the builder stage does of its images).
 */
async function fixtureBuilder(arch: Arch, buildDir: string): Promise<FixtureBuilder> {
  const file = join(buildDir, 'builder.json');
  if (existsSync(file)) return JSON.parse(await readFile(file, 'utf8')) as FixtureBuilder;
  const script = `${DPKG_QUERY.map((a) => `'${a}'`).join(' ')}; echo '--'; cat ${GO_BIN}/../VERSION; echo; sha256sum ${GO_BIN}/go`;
  const out = arch === hostArch()
    ? (await mustRun('sh', ['-c', script])).stdout
    : (await mustRun('docker', ['run', '--rm', '--platform', `linux/${arch}`, await toolboxImage(arch), 'sh', '-c', script])).stdout;
  const [list = '', rest = ''] = out.split('--\n');
  const packages = list.split('\n').filter((l) => l.startsWith('ii ')).map((l) => l.split('|').slice(1).join(' ')).sort();
  const [goVersion = '', sha = ''] = rest.split('\n').filter(Boolean);
  const b: FixtureBuilder = { packages, goVersion: goVersion.trim(), goSha256: sha.split(/\s+/)[0] ?? '' };
  await writeFile(file, JSON.stringify(b, null, 2));
  return b;
}

/** The provenance the build stage would have recorded for a fixture build. */
export function fixtureProvenance(name: string, arch: Arch, b: FixtureBuilder, ref?: string): BuildProvenance {
  return {
    url: FIXTURE_URLS[name] ?? `https://example.invalid/${name}`,
    ...(ref ? { ref } : {}),
    license: 'Apache-2.0',
    toolchain: { name: b.goVersion, version: b.goVersion.replace(/^go/, ''), sha256: b.goSha256, url: `file://${GO_BIN}/go` },
    builder: { key: createHash('sha256').update(b.packages.join('\n')).digest('hex'), name: 'package-test', platform: arch, packages: b.packages },
    environment: FIXTURE_BUILD_ENV,
  };
}

/** dpkg-shlibdeps on the binaries: on this machine for its own arch, else in the arm64 toolbox container. */
async function shlibsFor(arch: Arch, binaries: string[], mountRoot: string): Promise<string> {
  if (arch === hostArch()) return computeShlibsDepends(binaries);
  // The exact argv the builder runs in its container, with the paths as the container sees them.
  const inContainer = binaries.map((b) => `/t/${b.slice(mountRoot.length + 1)}`);
  const cmd = shlibdepsCommand(inContainer);
  const work = join(mountRoot, 'shlibs');
  for (const [rel, content] of Object.entries(cmd.files)) {
    await mkdir(join(work, rel, '..'), { recursive: true });
    await writeFile(join(work, rel), content);
  }
  const env = Object.entries(cmd.env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  const r = await mustRun('docker', ['run', '--rm', '--platform', `linux/${arch}`, '-v', `${mountRoot}:/t`, '-w', '/t/shlibs', ...env, await toolboxImage(arch), ...cmd.argv]);
  await rm(work, { recursive: true, force: true });
  return parseShlibdepsOutput(r.stdout);
}

export function hostArch(): Arch {
  return process.arch === 'arm64' ? 'arm64' : 'amd64';
}

// ---- test images ------------------------------------------------------------------------

const IMAGE_LABEL = 'io.crio-build.package-test';

/**
 * An image FROM the project's Debian base image of `arch` (src/hosts/images/base-image.ts), reused by
 * label while `dockerfile` is unchanged. The labels the base carries (kind=base, base=<suite-arch>)
 * are overridden so that ensureBaseImage never mistakes ours for a base image.
 */
async function ensureImage(name: string, arch: Arch, dockerfileBody: string): Promise<string> {
  const key = createHash('sha256').update(`${name}\n${arch}\n${dockerfileBody}`).digest('hex').slice(0, 16);
  const tag = `crio-build-test/${name}:${arch}-${key}`;
  const existing = await run('docker', ['image', 'inspect', '--format', `{{index .Config.Labels "${IMAGE_LABEL}"}}`, tag]);
  if (existing.code === 0 && existing.stdout.trim() === key) return tag;
  const { connectDocker } = await import('../../src/hosts/docker.js');
  const { ensureBaseImage } = await import('../../src/hosts/images/base-image.js');
  const base = await ensureBaseImage(await connectDocker(), { arch });
  const dockerfile = `FROM ${base.id}
LABEL io.crio-build.kind=package-test io.crio-build.base=none
${dockerfileBody}LABEL ${IMAGE_LABEL}=${key} io.crio-build.managed=false
USER root
WORKDIR /
`;
  const ctx = await tempDir('crio-build-pkg-image-');
  await writeFile(join(ctx, 'Dockerfile'), dockerfile);
  await mustRun('docker', ['build', '--platform', `linux/${arch}`, '-t', tag, ctx]);
  return tag;
}

/** Compilers and -dev libraries to build the fixtures natively inside an `arch` container, and dpkg-dev. */
export function toolboxImage(arch: Arch): Promise<string> {
  return ensureImage(
    'toolbox',
    arch,
    'RUN apt-get update -o Acquire::Retries=3 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends -o Acquire::Retries=3 gcc libc6-dev make pkg-config git libglib2.0-dev libseccomp-dev dpkg-dev golang-1.19-go && apt-get clean && rm -rf /var/lib/apt/lists/*\n',
  );
}

/**
 * The install target: Debian's package lists and the .debs our packages will pull (runc, the
 * libraries, the image policy's golang-github-containers-common, systemd for the second
 * scenario) downloaded but not installed, so the tests install
 * them offline and quickly. Nothing of ours is in it.
 */
export function targetImage(arch: Arch): Promise<string> {
  return ensureImage(
    'target',
    arch,
    'RUN apt-get update -o Acquire::Retries=3 && DEBIAN_FRONTEND=noninteractive apt-get install -y --download-only --no-install-recommends -o Acquire::Retries=3 runc procps libglib2.0-0 libseccomp2 systemd golang-github-containers-common golang-github-containers-image iptables && rm -f /etc/apt/apt.conf.d/docker-clean\n',
  );
}

/**
 * A Raspberry Pi as it comes: Debian bookworm arm64 (our debootstrapped base) with curl and sudo,
 * Debian's package lists, and the .debs cri-o will pull from Debian downloaded ahead so the test's
 * installs do not depend on the mirror's speed. apt keeps its defaults (Recommends are installed:
 * that is how cri-tools comes with cri-o), except that criu may not be installed: runc recommends
 * it and it brings python3, minutes under qemu for nothing the test looks at.
 */
export function piImage(arch: Arch): Promise<string> {
  return ensureImage(
    'pi',
    arch,
    'RUN apt-get update -o Acquire::Retries=3 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends -o Acquire::Retries=3 curl sudo ca-certificates && DEBIAN_FRONTEND=noninteractive apt-get install -y --download-only --no-install-recommends -o Acquire::Retries=3 runc libglib2.0-0 libseccomp2 golang-github-containers-common golang-github-containers-image iptables netavark aardvark-dns && rm -f /etc/apt/apt.conf.d/docker-clean\n' +
      `RUN printf 'Package: criu\\nPin: release *\\nPin-Priority: -1\\n' > /etc/apt/preferences.d/no-criu\n`,
  );
}

// ---- containers ---------------------------------------------------------------------------

export class Container {
  constructor(
    readonly id: string,
    readonly arch: Arch,
  ) {}

  /** `hostNetwork`: share the host's network, to reach a server on its 127.0.0.1 (the Pi test's repository). */
  static async start(image: string, arch: Arch, mounts: Array<[string, string]> = [], opts: { hostNetwork?: boolean } = {}): Promise<Container> {
    const v = mounts.flatMap(([host, inner]) => ['-v', `${host}:${inner}`]);
    const net = opts.hostNetwork ? ['--network', 'host'] : [];
    const r = await mustRun('docker', ['run', '-d', '--platform', `linux/${arch}`, '--label', `${IMAGE_LABEL}=container`, ...net, ...v, image, 'sleep', 'infinity']);
    return new Container(r.stdout.trim(), arch);
  }

  async exec(argv: string[], env: Record<string, string> = {}): Promise<RunResult> {
    const e = Object.entries({ DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C', ...env }).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
    const t0 = Date.now();
    const r = await run('docker', ['exec', ...e, this.id, ...argv]);
    if (process.env.CRIO_BUILD_TEST_VERBOSE) process.stderr.write(`[${this.arch} ${((Date.now() - t0) / 1000).toFixed(1)}s exit ${r.code}] ${argv.join(' ')}\n`);
    return r;
  }

  async must(argv: string[], env: Record<string, string> = {}): Promise<RunResult> {
    const r = await this.exec(argv, env);
    if (r.code !== 0) throw new Error(`in container: ${argv.join(' ')} exited ${r.code}\nstdout:\n${r.stdout.slice(-4000)}\nstderr:\n${r.stderr.slice(-4000)}`);
    return r;
  }

  async sh(script: string): Promise<RunResult> {
    return this.must(['sh', '-ec', script]);
  }

  async remove(): Promise<void> {
    await run('docker', ['rm', '-f', this.id]);
  }
}
