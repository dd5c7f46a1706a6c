/**
 * The acceptance run: the guide's pod flow, on a fresh Debian root, from a published release.
 *
 *  1. the release: its RELEASE_NOTES.md (the ```sh block) and Packages;
 *  2. a fresh Debian bookworm root of the target arch (arm64 under qemu, amd64 native) in a Docker
 *     container with systemd as PID 1 and its own network namespace (made by this run; nothing
 *     touches this machine's network);
 *  3. the notes' lines, run as written (apt's "Do you want to continue?" answered yes by an apt.conf
 *     setting, as a user types Y);
 *  4. what the packages configure, checked by the real tools: crio's effective configuration
 *     (the pause image), crio-preflight, the image policy and registries.conf by Debian's skopeo,
 *     the CNI configurations by Debian's containernetworking-plugins (and by ours, if real) in a
 *     network namespace, the units by systemd-analyze verify;
 *  5. systemctl start crio; crictl info on the socket /etc/crictl.yaml names; crictl pull, runp,
 *     create, start, logs, exec, an HTTP request from the node to the pod's IP over the CNI
 *     network, a crio restart that keeps the container running (conmon holds it), stop and rm;
 *     apt-get remove stops crio; against a registry (Debian's docker-registry) on the node's
 *     loopback holding images this run makes itself (busybox-static, our tar writer, skopeo);
 *  6. beside Debian's podman, buildah and skopeo: installed together (our cri-o-conmon in
 *     /usr/libexec/crio beside Debian's conmon in /usr/bin, which podman runs), podman run works,
 *     each side removed in turn, nothing lost (dpkg --verify) or broken.
 *
 * The only file the run writes for CRI-O is /etc/crio/crio.conf.d/90-acceptance.conf, because its
 * registry is plain HTTP on loopback and the node cannot reach registry.k8s.io from this machine:
 * insecure_registries for 127.0.0.1:5000 and pause_image = its own pause image (what a site with
 * an air-gapped registry sets). The package's own default is checked before that file exists.
 *
 * Each step ends ok, failed (with the error), needs-a-real-build (the test suite's miniature
 * binaries only print versions), or not-run (a step it depends on failed).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Arch } from '../src/recipe/schema.js';
import { nodeImage, toolsImage } from './images.js';
import { busyboxImage, HTTP_PORT, INDEX_HTML, LOG_LINE, pauseImage, writeOciLayout } from './oci.js';
import { CommandError, Container, lastLines, must, run, type RunResult } from './proc.js';
import { loadRelease, type Release } from './release.js';
import type { AcceptanceReport, StepResult, StepStatus } from './report.js';

export interface AcceptanceOptions {
  /** A release directory or its URL. */
  release: string;
  arch: Arch;
  /** Keep the containers afterwards (their names are printed). */
  keep?: boolean;
  /** Progress lines (each step as it ends, and what takes long). */
  onProgress?: (line: string) => void;
  /** Skip the coexistence steps (podman, buildah, skopeo beside ours). */
  skipCoexistence?: boolean;
}

const REGISTRY = '127.0.0.1:5000';
const PACKAGES = ['cri-o', 'cri-o-conmon', 'containernetworking-plugins', 'cri-tools'];
/** Where cri-o-conmon puts CRI-O's conmon; Debian's conmon (podman's) keeps /usr/bin/conmon. */
const CRIO_CONMON = '/usr/libexec/crio/conmon';
const THEIRS = ['podman', 'buildah', 'skopeo'];
const SHARED = ['golang-github-containers-common', 'golang-github-containers-image'];
const ACCEPTANCE_DROPIN = '/etc/crio/crio.conf.d/90-acceptance.conf';
const MINIATURE = /miniature|cannot run the daemon/i;

class Outcome {
  constructor(
    readonly status: StepStatus,
    readonly summary: string,
    readonly details: string[] = [],
  ) {}
}
const ok = (summary: string, details: string[] = []) => new Outcome('ok', summary, details);
const failed = (summary: string, details: string[] = []) => new Outcome('failed', summary, details);
const needsReal = (summary: string, details: string[] = []) => new Outcome('needs-a-real-build', summary, details);

/** An error inside a step: its summary line and details. */
class StepFailure extends Error {
  constructor(
    message: string,
    readonly details: string[] = [],
  ) {
    super(message);
  }
}

function out(r: RunResult): string {
  return `${r.stdout}${r.stderr ? `\n${r.stderr}` : ''}`.trim();
}

export class AcceptanceRun {
  private readonly steps: StepResult[] = [];
  private readonly refusals: string[] = [];
  private release!: Release;
  private node?: Container;
  private tools?: Container;
  private server?: Server;
  private build: AcceptanceReport['build'] = 'unknown';
  private init = 'systemd';
  private readonly started = Date.now();
  private readonly name = `crio-acceptance-${process.pid}-${Date.now().toString(36)}`;
  private work = '';
  private setupLines: string[] = [];
  private defaultPause = '';
  private podId = '';
  private ctrId = '';
  private podIp = '';
  private ctrPid = '';
  private crioVersion = '';

  constructor(private readonly o: AcceptanceOptions) {}

  private say(line: string): void {
    this.o.onProgress?.(line);
  }

  private refused(what: string): void {
    if (!this.refusals.includes(what)) this.refusals.push(what);
  }

  /** Runs a step unless one it needs did not end ok (needs-a-real-build passes on as such). */
  private async step(id: string, title: string, needs: string[], fn: () => Promise<Outcome>): Promise<StepStatus> {
    const t0 = Date.now();
    let o: Outcome;
    const blocked = needs.map((n) => this.steps.find((s) => s.id === n)).filter((s): s is StepResult => !!s && s.status !== 'ok');
    const hard = blocked.find((s) => s.status === 'failed' || s.status === 'not-run');
    if (hard) o = new Outcome('not-run', `not run: ${hard.id} ${hard.status}`);
    else if (blocked.length) o = needsReal(`needs ${blocked.map((b) => b.id).join(', ')}, which need a real build`);
    else {
      try {
        o = await fn();
      } catch (err) {
        if (err instanceof StepFailure) o = failed(err.message, err.details);
        else if (err instanceof CommandError) o = failed(`${err.what.split('\n')[0]?.slice(0, 160)} exited ${err.result.code}`, [lastLines(`${err.result.stderr}\n${err.result.stdout}`, 25)]);
        else o = failed((err as Error).message ?? String(err), (err as Error).stack ? [String((err as Error).stack).split('\n').slice(1, 4).join('\n')] : []);
      }
    }
    const r: StepResult = { id, title, status: o.status, summary: o.summary, details: o.details, seconds: (Date.now() - t0) / 1000 };
    this.steps.push(r);
    this.say(`${id}: ${r.status} (${Math.round(r.seconds)} s) ${r.summary}`);
    return r.status;
  }

  private get n(): Container {
    if (!this.node) throw new StepFailure('no node');
    return this.node;
  }

  private get t(): Container {
    if (!this.tools) throw new StepFailure('no tools container');
    return this.tools;
  }

  /** A shell script in the node that must succeed. */
  private async nsh(script: string, timeoutMs = 600_000): Promise<RunResult> {
    return this.n.mustSh(script, { timeoutMs });
  }

  private crictl(args: string, timeoutMs = 360_000): Promise<RunResult> {
    // -t: the request timeout (crictl.yaml says 10 s; pulls and pod starts under qemu take longer).
    return this.n.sh(`crictl -t 300s ${args}`, { timeoutMs });
  }

  async run(): Promise<AcceptanceReport> {
    this.work = await mkdtemp(join(tmpdir(), 'crio-acceptance-'));
    try {
      await this.all();
    } finally {
      if (!this.o.keep) {
        await this.tools?.remove();
        await this.node?.remove();
      } else this.say(`kept: node ${this.node?.name ?? '-'}, tools ${this.tools?.name ?? '-'}`);
      await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
      await rm(this.work, { recursive: true, force: true });
    }
    return {
      release: this.o.release,
      title: this.release?.title ?? this.o.release,
      arch: this.o.arch,
      build: this.build,
      init: this.init,
      startedAt: new Date(this.started).toISOString(),
      seconds: (Date.now() - this.started) / 1000,
      steps: this.steps,
      refusals: this.refusals,
    };
  }

  private async all(): Promise<void> {
    await this.step('release', 'read the release: RELEASE_NOTES.md and Packages', [], () => this.readRelease());
    await this.step('node', 'a fresh Debian bookworm root for the arch, systemd as PID 1', ['release'], () => this.startNode());
    await this.step('install', "install as the release notes' sh block says", ['node'], () => this.install());
    await this.step('default-config', "crio's configuration: drop-ins, the default pause image, registries", ['install'], () => this.defaultConfig());
    await this.step('preflight', 'crio-preflight on the node', ['install'], () => this.preflight());
    await this.step('registry', 'a registry on loopback with images this run makes', ['node'], () => this.registry());
    await this.step('policy-registries', "policy.json and registries.conf accepted by Debian's skopeo", ['install', 'registry'], () => this.policyCheck());
    await this.step('cni-configs', "the CNI configurations, run by Debian's plugins in a network namespace", ['install', 'registry'], () => this.cniConfigs('debian'));
    await this.step('cni-configs-packaged', 'the same, by the packaged plugins in /opt/cni/bin', ['install'], () => this.cniConfigs('packaged'));
    await this.step('units', 'systemd-analyze verify on the installed units', ['install'], () => this.units());
    await this.step('crio-start', 'systemctl start crio', ['install', 'registry'], () => this.crioStart());
    await this.step('crictl-info', 'crictl info on the socket /etc/crictl.yaml names', ['crio-start'], () => this.crictlInfo());
    await this.step('pull', 'crictl pull', ['crictl-info'], () => this.pull());
    await this.step('runp', 'crictl runp', ['pull'], () => this.runp());
    await this.step('create', 'crictl create', ['runp'], () => this.create());
    await this.step('start', 'crictl start', ['create'], () => this.start());
    await this.step('logs', 'crictl logs', ['start'], () => this.logs());
    await this.step('exec', 'crictl exec', ['start'], () => this.exec());
    await this.step('pod-network', "an HTTP request from the node to the pod's port over the CNI network", ['start'], () => this.podNetwork());
    await this.step('restart-keeps-containers', 'systemctl restart crio: the container keeps running (conmon holds it)', ['start'], () => this.restartKeeps());
    await this.step('stop', 'crictl stop, crictl stopp', ['start'], () => this.stop());
    await this.step('rm', 'crictl rm, crictl rmp', ['stop'], () => this.rm());
    await this.step('remove-stops-crio', 'apt-get remove cri-o stops the service', ['install'], () => this.removeStops());
    if (!this.o.skipCoexistence) {
      await this.step('coexist-install', "Debian's podman, buildah and skopeo installed beside ours", ['install'], () => this.coexistInstall());
      await this.step('coexist-podman-run', "podman run beside ours, with Debian's conmon", ['coexist-install', 'registry'], () => this.podmanRun('beside ours'));
      await this.step('coexist-remove-ours', 'apt-get remove cri-o cri-o-conmon cri-tools: podman, buildah, skopeo keep everything', ['coexist-install'], () => this.removeOurs());
      await this.step('coexist-podman-run-without-ours', 'podman run after ours were removed', ['coexist-remove-ours', 'registry'], () => this.podmanRun('after ours were removed'));
      await this.step('coexist-remove-theirs', 'apt-get remove podman buildah skopeo, autoremove: cri-o keeps everything', ['coexist-remove-ours'], () => this.removeTheirs());
      await this.step('coexist-theirs-first', "Debian's podman stack (its own conmon and plugins) first, then apt-get install cri-o: Debian's conmon kept, the plugins replaced", ['coexist-install'], () => this.theirsFirst());
      await this.step('coexist-podman-run-theirs-first', 'podman run after cri-o was installed beside it', ['coexist-theirs-first', 'registry'], () => this.podmanRun('after cri-o was installed beside it'));
    }
  }

  // ---- the release and the node ----------------------------------------------------------------

  private async readRelease(): Promise<Outcome> {
    this.release = await loadRelease(this.o.release);
    const rel = this.release;
    const mine = rel.packages.filter((p) => p.arch === this.o.arch);
    if (mine.length === 0) throw new StepFailure(`the release has no ${this.o.arch} packages (it has ${rel.arches.join(', ') || 'none'})`);
    const missing = PACKAGES.filter((p) => !mine.some((m) => m.name === p));
    if (missing.length) throw new StepFailure(`the release lacks ${missing.join(', ')} for ${this.o.arch}`);
    return ok(`${rel.setupLines.length} lines in the notes' sh block; repository ${rel.baseUrl}; ${mine.map((p) => `${p.name} ${p.version}`).join(', ')}`, rel.setupLines);
  }

  /** How the node reaches the repository: the notes' URL, the directory mounted at its file:// path, or served by this run. */
  private async repositoryAccess(): Promise<{ mounts: string[]; rewrite?: [string, string] }> {
    const rel = this.release;
    const base = rel.baseUrl;
    if (base.startsWith('file://')) {
      const path = decodeURIComponent(new URL(base).pathname);
      const dir = rel.dir ?? path;
      return { mounts: ['-v', `${dir}:${path}:ro`] };
    }
    if (rel.dir) return { mounts: [], rewrite: [base, ''] }; // filled in once the node's gateway is known
    const host = new URL(base).hostname;
    if (/^(127\.|localhost$|\[::1\]$)/.test(host)) {
      throw new StepFailure(`the notes name ${base}, on this machine's loopback, which the node (its own network namespace) cannot reach: pass the release directory instead`);
    }
    return { mounts: [] };
  }

  private async serveDirectory(dir: string, host: string): Promise<string> {
    const root = resolve(dir);
    this.server = createServer((req, res) => {
      const path = resolve(root, `.${decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/')}`);
      if (path !== root && !path.startsWith(root + sep)) {
        res.writeHead(403).end();
        return;
      }
      stat(path).then(
        (st) => {
          if (!st.isFile()) return void res.writeHead(404).end();
          res.writeHead(200, { 'content-length': st.size });
          if (req.method === 'HEAD') return void res.end();
          createReadStream(path).pipe(res);
        },
        () => res.writeHead(404).end(),
      );
    });
    await new Promise<void>((r, j) => {
      this.server?.once('error', j);
      this.server?.listen(0, host, () => r());
    });
    const addr = this.server.address();
    if (!addr || typeof addr === 'string') throw new StepFailure('could not serve the release directory');
    return `http://${host}:${addr.port}`;
  }

  private async startNode(): Promise<Outcome> {
    const arch = this.o.arch;
    const access = await this.repositoryAccess();
    const image = await nodeImage(arch, (m) => this.say(m));
    const args = [
      'run', '-d', '--name', this.name, '--hostname', 'acceptance-node', '--platform', `linux/${arch}`,
      '--label', 'io.crio-build.acceptance=node',
      // What the node's services need: all capabilities this machine has (it has no
      // CAP_SYS_RESOURCE, so --privileged is refused), no seccomp or AppArmor filter, /proc and /sys
      // writable, every device, and the cgroup hierarchies writable for systemd and runc.
      '--cap-add', 'ALL', '--cap-drop', 'SYS_RESOURCE',
      '--security-opt', 'seccomp=unconfined', '--security-opt', 'apparmor=unconfined', '--security-opt', 'systempaths=unconfined',
      '--device-cgroup-rule', 'a *:* rwm',
      '-v', '/sys/fs/cgroup:/sys/fs/cgroup:rw',
      '--tmpfs', '/run:exec', '--tmpfs', '/run/lock', '--tmpfs', '/tmp:exec',
      // containers/storage's overlay driver cannot stack on the container's own overlayfs root:
      // image storage gets a volume (on a Pi it is the ext4 root).
      '--mount', 'type=volume,dst=/var/lib/containers',
      // IPv6 is on in a Pi's network namespace; Docker turns it off in its containers, and the
      // bridge configuration has an IPv6 range.
      '--sysctl', 'net.ipv6.conf.all.disable_ipv6=0', '--sysctl', 'net.ipv6.conf.default.disable_ipv6=0',
      '-e', 'container=docker',
      ...access.mounts,
      image, '/lib/systemd/systemd',
    ];
    const r = await run('docker', args);
    if (r.code !== 0) {
      if (/operation not permitted/i.test(r.stderr)) this.refused(`docker run: ${r.stderr.trim()}`);
      throw new StepFailure(`docker run exited ${r.code}: ${r.stderr.trim()}`);
    }
    this.node = new Container(r.stdout.trim(), this.name);
    // systemd up: running, or degraded (services that cannot work in this container).
    let state = '';
    for (let i = 0; i < 120; i++) {
      state = (await this.n.exec(['systemctl', 'is-system-running'])).stdout.trim();
      if (state === 'running' || state === 'degraded') break;
      await new Promise((res) => setTimeout(res, 2000));
    }
    const details: string[] = [];
    const machine = (await this.n.exec(['uname', '-m'])).stdout.trim();
    const version = (await this.n.exec(['sh', '-c', "systemctl --version | head -1"])).stdout.trim();
    if (state !== 'running' && state !== 'degraded') {
      const j = await this.n.sh('journalctl -b --no-pager | tail -30');
      this.init = `systemd did not come up (${state || 'no answer'})`;
      throw new StepFailure(`systemd as PID 1 did not reach running or degraded: ${state || 'no answer'}`, [out(j)]);
    }
    this.init = `${version} as PID 1 (${state})`;
    if (state === 'degraded') {
      const f = await this.n.sh("systemctl --failed --no-legend --plain --no-pager | awk '{print $1}'");
      const units = f.stdout.trim().split('\n').filter(Boolean);
      for (const u of units) {
        const why = await this.n.sh(`journalctl -b -u ${u} --no-pager -o cat | grep -E 'Failed (at step|to set up|to start)|AccessDenied' | head -1`);
        const line = why.stdout.trim().split('\n').join('; ');
        details.push(`${u}: ${line}`);
        if (line) this.refused(`${arch}${machine === 'aarch64' && process.arch !== 'arm64' ? ' (qemu-user)' : ''}: systemd unit ${u}: ${line}`);
      }
    }
    if (access.rewrite) {
      const gw = (await this.n.sh("ip -4 route show default | awk '{print $3; exit}'")).stdout.trim();
      if (!/^\d+\.\d+\.\d+\.\d+$/.test(gw)) throw new StepFailure(`the node has no default route to serve the release to (got ${JSON.stringify(gw)})`);
      const served = await this.serveDirectory(this.release.dir as string, gw);
      access.rewrite[1] = served;
    }
    this.setupLines = this.release.setupLines.map((l) => (access.rewrite ? l.split(access.rewrite[0]).join(access.rewrite[1]) : l));
    if (access.rewrite) details.unshift(`the notes name ${access.rewrite[0]}; this run serves the release directory to the node at ${access.rewrite[1]} and runs the lines with that URL`);
    else if (this.release.baseUrl.startsWith('file://')) details.unshift(`the notes name ${this.release.baseUrl}: the release directory is mounted there read-only`);
    return ok(`${machine}${arch === 'arm64' && process.arch !== 'arm64' ? ' under qemu-user' : ''}, ${this.init}, container ${this.name}`, details);
  }

  private async install(): Promise<Outcome> {
    // What a user answering "Y" does; the lines themselves are run as written.
    await this.n.writeFile('/etc/apt/apt.conf.d/90-acceptance-assume-yes', 'APT::Get::Assume-Yes "true";\n');
    const transcript: string[] = [];
    for (const line of this.setupLines) {
      const r = await this.n.exec(['sh', '-ec', line], { timeoutMs: 45 * 60_000 });
      transcript.push(`$ ${line}`);
      if (r.code !== 0) {
        throw new StepFailure(`"${line}" exited ${r.code}`, [...transcript, lastLines(out(r), 30)]);
      }
    }
    const q = await this.nsh(`dpkg-query -W -f '\${Package} \${Version} \${db:Status-Abbrev}\\n' ${PACKAGES.join(' ')}`);
    const installed = q.stdout.trim().split('\n');
    const expected = this.release.packages.filter((p) => p.arch === this.o.arch);
    const wrong = PACKAGES.filter((p) => {
      const line = installed.find((l) => l.startsWith(`${p} `));
      const want = expected.find((e) => e.name === p)?.version;
      return !line || !line.includes(` ${want} ii`);
    });
    if (wrong.length) throw new StepFailure(`not installed from the release: ${wrong.join(', ')}`, installed);
    this.crioVersion = expected.find((e) => e.name === 'cri-o')?.version ?? '';
    const owners = await this.n.sh('dpkg -S /etc/containers/policy.json /etc/containers/registries.conf 2>&1');
    const check = await this.n.sh('apt-get check 2>&1 | tail -1; dpkg --audit');
    return ok(installed.map((l) => l.replace(/\s+ii\s*$/, '')).join(', '), [...transcript, `policy and registries from: ${owners.stdout.trim().replace(/\n/g, '; ')}`, `apt-get check: ${check.stdout.trim()}`]);
  }

  private async defaultConfig(): Promise<Outcome> {
    const conf = await this.n.sh('crio config 2>/dev/null');
    const files = await this.n.sh('grep -H -E "^(pause_image|registries|cgroup_manager|conmon) *=" /etc/crio/crio.conf /etc/crio/crio.conf.d/* 2>/dev/null');
    const pause = /^\s*pause_image\s*=\s*"([^"]+)"/m.exec(conf.stdout)?.[1] ?? /^pause_image\s*=\s*"([^"]+)"/m.exec(files.stdout)?.[1];
    if (!pause) throw new StepFailure('no pause_image in crio config nor in the installed configuration', [out(conf), out(files)]);
    this.defaultPause = pause;
    const details = [`crio config (exit ${conf.code}): pause_image = "${pause}"`, out(files)];
    if (!pause.startsWith('registry.k8s.io/')) throw new StepFailure(`the default pause image is ${pause}, not on registry.k8s.io`, details);
    const manager = /^\s*cgroup_manager\s*=\s*"([^"]+)"/m.exec(conf.stdout)?.[1];
    if (conf.code === 0 && manager && manager !== 'systemd') throw new StepFailure(`cgroup_manager is ${manager}`, details);
    return ok(`pause_image = "${pause}" (the package's default)${manager ? `, cgroup_manager = "${manager}"` : ''}`, details);
  }

  private async preflight(): Promise<Outcome> {
    const r = await this.n.sh('crio-preflight');
    if (r.code !== 0 && r.code !== 1) throw new StepFailure(`crio-preflight exited ${r.code}`, [out(r)]);
    const missing = r.stdout.split('\n').filter((l) => l.startsWith('MISSING'));
    for (const m of missing) this.refused(`crio-preflight on the ${this.o.arch} node: ${m.replace(/^MISSING\s+/, '')}`);
    return ok(`ran: exit ${r.code}, ${missing.length} missing on this machine`, [r.stdout.trim()]);
  }

  // ---- the registry, images, and the configuration checks ----------------------------------------

  private async registry(): Promise<Outcome> {
    const image = await toolsImage((m) => this.say(m));
    const r = await must('docker', [
      'run', '-d', '--name', `${this.name}-tools`, '--platform', 'linux/amd64', '--label', 'io.crio-build.acceptance=tools',
      '--network', `container:${this.n.id}`,
      // The CNI plugins write sysctls (forwarding) of the namespaces they set up: /proc/sys writable.
      '--cap-add', 'ALL', '--cap-drop', 'SYS_RESOURCE', '--security-opt', 'seccomp=unconfined', '--security-opt', 'apparmor=unconfined', '--security-opt', 'systempaths=unconfined',
      '--tmpfs', '/run:exec', '--tmpfs', '/tmp:exec',
      image, 'sleep', 'infinity',
    ]);
    this.tools = new Container(r.stdout.trim(), `${this.name}-tools`);
    await this.t.writeFile(
      '/etc/docker/registry/acceptance.yml',
      `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: /var/lib/acceptance-registry\nhttp:\n  addr: ${REGISTRY}\n`,
    );
    await this.t.mustSh('nohup docker-registry serve /etc/docker/registry/acceptance.yml >/var/log/acceptance-registry.log 2>&1 &');
    let up = false;
    for (let i = 0; i < 60 && !up; i++) {
      up = (await this.t.sh(`busybox wget -q -O- http://${REGISTRY}/v2/ >/dev/null`)).code === 0;
      if (!up) await new Promise((res) => setTimeout(res, 500));
    }
    if (!up) throw new StepFailure('docker-registry did not answer on 127.0.0.1:5000', [out(await this.t.sh('cat /var/log/acceptance-registry.log'))]);

    // The images: busybox-static of both arches from the tools image, layers by our tar writer.
    const busybox: Partial<Record<Arch, Buffer>> = {};
    for (const a of ['amd64', 'arm64'] as const) {
      const b = await run('docker', ['exec', this.t.id, 'base64', '-w0', `/opt/busybox/${a}/busybox`]);
      if (b.code !== 0) throw new CommandError('reading busybox', b);
      busybox[a] = Buffer.from(b.stdout, 'base64');
    }
    const applets = (await this.t.sh('/opt/busybox/amd64/busybox --list')).stdout;
    if (!/^httpd$/m.test(applets)) throw new StepFailure("Debian's busybox-static has no httpd applet");
    const pauseTag = (this.defaultPause.split(':').pop() ?? '3.2').replace(/[^A-Za-z0-9._-]/g, '') || '3.2';
    const layout = join(this.work, 'oci');
    await writeOciLayout(layout, [pauseImage(`pause-${pauseTag}`, busybox), busyboxImage('busybox-1', busybox)]);
    // Not below /tmp: docker cp writes under the tmpfs mounted there.
    await must('docker', ['cp', layout, `${this.t.id}:/srv/oci`]);
    const pushes = [
      [`pause-${pauseTag}`, `acceptance/pause:${pauseTag}`],
      ['busybox-1', 'acceptance/busybox:1'],
    ];
    const details: string[] = [];
    for (const [ref, name] of pushes) {
      await this.t.mustSh(`skopeo copy --all --dest-tls-verify=false oci:/srv/oci:${ref} docker://${REGISTRY}/${name}`, { timeoutMs: 300_000 });
      const raw = await this.t.mustSh(`skopeo inspect --tls-verify=false --raw docker://${REGISTRY}/${name} | jq -c '[.mediaType, [.manifests[].platform.architecture]]'`);
      details.push(`${REGISTRY}/${name}: ${raw.stdout.trim()}`);
    }
    return ok(`docker-registry on ${REGISTRY} (the node's loopback); pushed ${pushes.map((p) => p[1]).join(', ')} as multi-arch indexes (amd64, arm64)`, details);
  }

  /** Copies files from the node into the tools container (same paths under /node). */
  private async copyFromNode(paths: string[]): Promise<void> {
    for (const p of paths) {
      const content = await this.n.exec(['cat', p]);
      if (content.code !== 0) throw new StepFailure(`${p} is not on the node`, [content.stderr.trim()]);
      await this.t.writeFile(`/node${p}`, content.stdout);
    }
  }

  private async policyCheck(): Promise<Outcome> {
    await this.copyFromNode(['/etc/containers/policy.json', '/etc/containers/registries.conf']);
    const copy = (policy: string) =>
      this.t.sh(`rm -rf /tmp/policy-check && skopeo --policy ${policy} --registries-conf /node/etc/containers/registries.conf copy --src-tls-verify=false docker://${REGISTRY}/acceptance/busybox:1 dir:/tmp/policy-check`);
    const r = await copy('/node/etc/containers/policy.json');
    if (r.code !== 0) throw new StepFailure("Debian's skopeo refused the node's policy.json or registries.conf", [out(r)]);
    // The check has teeth: a policy that rejects everything makes the same copy fail.
    await this.t.writeFile('/tmp/reject.json', '{"default":[{"type":"reject"}]}\n');
    const refused = await copy('/tmp/reject.json');
    if (refused.code === 0) throw new StepFailure('a rejecting policy was not applied: the check proves nothing');
    const version = (await this.t.sh('skopeo --version')).stdout.trim();
    return ok(`${version}: copy from ${REGISTRY} allowed by the node's policy.json with its registries.conf; a reject-all policy refuses it`, [lastLines(out(refused), 2)]);
  }

  /** Runs each /etc/cni/net.d configuration (ADD, then DEL) in a network namespace. */
  private async cniConfigs(which: 'debian' | 'packaged'): Promise<Outcome> {
    const list = (await this.n.mustSh('ls /etc/cni/net.d')).stdout.trim().split('\n').filter(Boolean);
    let box: Container;
    let pluginDir: string;
    if (which === 'debian') {
      await this.copyFromNode(list.map((f) => `/etc/cni/net.d/${f}`));
      box = this.t;
      pluginDir = '/usr/lib/cni';
    } else {
      box = this.n;
      pluginDir = '/opt/cni/bin';
      // The packaged plugins answer CNI_COMMAND=VERSION with JSON when real; the miniature's only print versions.
      const v = await this.n.sh(`CNI_COMMAND=VERSION ${pluginDir}/bridge </dev/null`);
      if (!/supportedVersions/.test(v.stdout)) return needsReal(`the packaged bridge plugin does not speak CNI (${(v.stdout + v.stderr).trim().split('\n')[0]}): a miniature`);
    }
    const results: string[] = [];
    const failures: string[] = [];
    for (const f of list) {
      // The configuration as the file says, with host-local's leases kept in /tmp instead of /var/lib/cni.
      const conf = JSON.parse(await this.n.readFile(`/etc/cni/net.d/${f}`)) as { name?: string; type?: string; plugins?: Array<{ type: string; ipam?: Record<string, unknown> }>; ipam?: Record<string, unknown> };
      const plugin = conf.plugins ? conf.plugins[0] : conf;
      const type = plugin?.type ?? '';
      if (!/^[a-z0-9-]+$/.test(type)) throw new StepFailure(`${f}: no plugin type`);
      for (const p of conf.plugins ?? [conf]) if (p.ipam) p.ipam.dataDir = '/tmp/acc-ipam';
      if (!conf.name) conf.name = 'unnamed';
      await box.writeFile('/tmp/acc.conf', JSON.stringify(conf.plugins ? { cniVersion: (conf as { cniVersion?: string }).cniVersion, name: conf.name, ...conf.plugins[0] } : conf));
      // Two fresh network namespaces: "host" (where the bridge and NAT rules go) and "pod".
      const script = `ip netns add acc-host && ip netns add acc-pod || exit 1
cleanup() { ip netns del acc-pod 2>/dev/null; ip netns del acc-host 2>/dev/null; rm -rf /tmp/acc-ipam; }
trap cleanup EXIT
ip -n acc-host link set lo up
run() { ip netns exec acc-host env CNI_COMMAND=$1 CNI_CONTAINERID=acceptance CNI_NETNS=/run/netns/acc-pod CNI_IFNAME=eth0 CNI_PATH=${pluginDir} ${pluginDir}/${type} < /tmp/acc.conf; }
if out=$(run ADD 2>&1); then
  echo "ADD ok: $out" | tr -s ' \n' ' '; echo
  ip -n acc-pod -brief addr | sed 's/^/pod: /'
  if run DEL >/dev/null 2>&1; then echo "DEL ok"; else echo "DEL failed"; exit 1; fi
else
  echo "ADD failed: $out" | tr -s ' \n' ' '; echo; exit 1
fi`;
      const r = await box.sh(script, { timeoutMs: 180_000 });
      const ips = [...r.stdout.matchAll(/"address":\s*"([^"]+)"/g)].map((m) => m[1]).join(' ');
      results.push(`${f} (${type}): ${r.code === 0 ? `ADD ok (${ips || 'no addresses'}), DEL ok` : out(r)}`);
      if (r.code !== 0) {
        failures.push(`${f}: ${out(r).split('\n').find((l) => l.startsWith('ADD failed')) ?? out(r)}`);
        if (/operation not supported/.test(r.stdout)) {
          this.refused(`the CNI bridge plugin (${which === 'packaged' ? 'the packaged one, ' : ''}${pluginDir}/bridge) creating cni0 in a network namespace: ${out(r).replace(/^ADD failed: /, '').replace(/\s+/g, ' ').slice(0, 300)}`);
        }
      }
    }
    const version = /"supportedVersions":\s*\[([^\]]*)\]/.exec((await box.sh(`CNI_COMMAND=VERSION ${pluginDir}/bridge </dev/null`)).stdout)?.[1]?.replace(/["\s]/g, '') ?? '?';
    if (failures.length && which === 'packaged' && failures.every((f) => MINIATURE.test(f))) {
      return needsReal(`the packaged plugins are the test suite's miniatures: ${failures[0]?.replace(/\s+/g, ' ').slice(0, 200)}`, results);
    }
    if (failures.length) throw new StepFailure(`${failures.length} of ${list.length} configurations failed: ${failures.join('; ').slice(0, 300)}`, results);
    return ok(`${list.join(', ')}: ADD and DEL ok with ${which === 'debian' ? "Debian's containernetworking-plugins" : 'the packaged plugins'} (${pluginDir}; CNI versions ${version})`, results);
  }

  private async units(): Promise<Outcome> {
    const units = (await this.n.mustSh("ls /lib/systemd/system/ | grep -E '^(crio|cri-o)[a-z-]*\\.service$'")).stdout.trim().split('\n');
    const r = await this.n.sh(`systemd-analyze verify --man=no ${units.map((u) => `/lib/systemd/system/${u}`).join(' ')} 2>&1`);
    if (r.code !== 0 || r.stdout.trim() !== '') throw new StepFailure(`systemd-analyze verify: ${r.stdout.trim().split('\n')[0]}`, [out(r)]);
    const enabled = (await this.n.sh('systemctl is-enabled crio.service; systemctl is-active crio.service')).stdout.trim().replace(/\n/g, ', ');
    return ok(`${units.join(', ')} verified; crio.service ${enabled} after installation`);
  }

  // ---- crio and the pod flow -----------------------------------------------------------------------

  private async crioStart(): Promise<Outcome> {
    const pauseTag = this.defaultPause.split(':').pop() ?? '3.2';
    const dropIn = `# Written by the acceptance run (not by any package): its registry is plain HTTP on the
# node's loopback, and this machine cannot reach ${this.defaultPause.split('/')[0]}, so it uses its own
# pause image, as a site with an air-gapped registry does (crio-build --pause-image).
[crio.image]
insecure_registries = ["${REGISTRY}"]
pause_image = "${REGISTRY}/acceptance/pause:${pauseTag}"
`;
    await this.n.writeFile(ACCEPTANCE_DROPIN, dropIn);
    const start = await this.n.sh('systemctl start crio', { timeoutMs: 600_000 });
    const journal = async () => (await this.n.sh('journalctl -u crio -b --no-pager -o cat | tail -40')).stdout.trim();
    if (start.code !== 0) {
      const j = await journal();
      const version = await this.n.sh('crio --version 2>&1; crio 2>&1 | tail -2');
      if (MINIATURE.test(j) || MINIATURE.test(version.stdout)) {
        this.build = 'miniature';
        const said = (j.split('\n').find((l) => MINIATURE.test(l)) ?? version.stdout.split('\n').find((l) => MINIATURE.test(l)) ?? '').trim();
        return needsReal(`crio is the test suite's miniature, which says: ${said}`, [`the run's drop-in ${ACCEPTANCE_DROPIN}:\n${dropIn}`]);
      }
      this.build = 'real';
      throw new StepFailure(`systemctl start crio exited ${start.code}`, [out(start), j]);
    }
    this.build = 'real';
    const limits = await this.n.sh('grep -E "open files|processes" /proc/$(systemctl show -p MainPID --value crio)/limits');
    if (/open files\s+20000|open files\s+(?!1048576)\d+/.test(limits.stdout)) {
      this.refused(`crio.service's LimitNOFILE=1048576 and LimitNPROC=1048576: systemd cannot raise the hard limits without CAP_SYS_RESOURCE and starts crio with what it has (${limits.stdout.trim().replace(/\s+/g, ' ')})`);
    }
    return ok(`crio.service active (${(await this.n.sh('crio --version | head -1')).stdout.trim()})`, [`the run's drop-in ${ACCEPTANCE_DROPIN}:\n${dropIn}`, limits.stdout.trim(), lastLines(await journal(), 8)]);
  }

  private async crictlInfo(): Promise<Outcome> {
    const yaml = await this.n.readFile('/etc/crictl.yaml');
    const endpoint = /^runtime-endpoint:\s*(\S+)/m.exec(yaml)?.[1] ?? '';
    let r: RunResult | undefined;
    for (let i = 0; i < 30; i++) {
      r = await this.n.sh('crictl info');
      if (r.code === 0) break;
      await new Promise((res) => setTimeout(res, 2000));
    }
    if (!r || r.code !== 0) throw new StepFailure(`crictl info on ${endpoint} failed`, [r ? out(r) : '']);
    const listen = (await this.n.sh("crio config 2>/dev/null | sed -n 's/^listen = \"\\(.*\\)\"/\\1/p'")).stdout.trim();
    const ready = /"RuntimeReady"[\s\S]*?"status":\s*true/.test(r.stdout) && /"NetworkReady"[\s\S]*?"status":\s*true/.test(r.stdout);
    const v = await this.n.sh('crictl version');
    return ok(`answered on ${endpoint} (crio listens on ${listen || '?'}); RuntimeReady and NetworkReady ${ready ? 'true' : 'not both true'}`, [v.stdout.trim(), lastLines(r.stdout, 30)]);
  }

  private async pull(): Promise<Outcome> {
    const image = `${REGISTRY}/acceptance/busybox:1`;
    const r = await this.crictl(`pull ${image}`);
    if (r.code !== 0) throw new StepFailure(`crictl pull ${image}: ${out(r)}`);
    const pause = await this.crictl(`pull ${REGISTRY}/acceptance/pause:${this.defaultPause.split(':').pop() ?? '3.2'}`);
    if (pause.code !== 0) throw new StepFailure(`crictl pull of the pause image: ${out(pause)}`);
    const inspect = await this.crictl(`inspecti -o json ${image}`);
    const arch = /"architecture":\s*"([^"]+)"/.exec(inspect.stdout)?.[1];
    return ok(`${r.stdout.trim()} (the ${arch ?? '?'} image of the index)`, [out(pause), (await this.crictl('images')).stdout.trim()]);
  }

  private async runp(): Promise<Outcome> {
    await this.n.writeFile('/root/acceptance/pod.json', JSON.stringify({ metadata: { name: 'acceptance', namespace: 'default', attempt: 1, uid: 'acceptance-pod-1' }, log_directory: '/var/log/crio-acceptance', linux: {} }, null, 2));
    const r = await this.crictl('runp /root/acceptance/pod.json');
    if (r.code !== 0) {
      const e = out(r);
      if (/oom_score_adj/.test(e)) this.refused(`crictl runp (runc sets oom_score_adj -998 on the pod's infra container; lowering it needs CAP_SYS_RESOURCE): ${e.replace(/\s+/g, ' ').slice(0, 400)}`);
      if (/could not add .*operation not supported|failed to create bridge/.test(e)) this.refused(`crictl runp, the CNI bridge plugin: ${e.replace(/\s+/g, ' ').slice(0, 400)}`);
      const conmon = (await this.n.sh('journalctl -b --no-pager -o cat -t conmon | tail -10')).stdout.trim();
      if (/read init-p|connection reset by peer|probably exited/.test(e + conmon) && this.o.arch === 'arm64' && process.arch !== 'arm64') {
        this.refused(`crictl runp on arm64 under qemu-user: ${e.replace(/\s+/g, ' ').slice(0, 300)} (runc's container init cannot start under qemu-user: Debian's runc 1.1.5 alone fails the same way, "waiting for init preliminary setup: read init-p: connection reset by peer")`);
      }
      throw new StepFailure(`crictl runp: ${e.split('\n').slice(-1)[0]?.slice(0, 400)}`, [e, `conmon's log: ${conmon || '(nothing)'}`, (await this.n.sh('journalctl -u crio -b --no-pager -o cat | tail -20')).stdout]);
    }
    this.podId = r.stdout.trim();
    const inspect = await this.crictl(`inspectp -o json ${this.podId}`);
    this.podIp = (JSON.parse(inspect.stdout) as { status?: { network?: { ip?: string } } }).status?.network?.ip ?? '';
    return ok(`pod ${this.podId.slice(0, 13)} ready, IP ${this.podIp || 'none'}`);
  }

  private async create(): Promise<Outcome> {
    await this.n.writeFile('/root/acceptance/ctr.json', JSON.stringify({ metadata: { name: 'web' }, image: { image: `${REGISTRY}/acceptance/busybox:1` }, log_path: 'web.log', linux: {} }, null, 2));
    const r = await this.crictl(`create ${this.podId} /root/acceptance/ctr.json /root/acceptance/pod.json`);
    if (r.code !== 0) throw new StepFailure(`crictl create: ${out(r)}`);
    this.ctrId = r.stdout.trim();
    return ok(`container ${this.ctrId.slice(0, 13)} created`);
  }

  private async start(): Promise<Outcome> {
    const r = await this.crictl(`start ${this.ctrId}`);
    if (r.code !== 0) throw new StepFailure(`crictl start: ${out(r)}`);
    let state = '';
    for (let i = 0; i < 30; i++) {
      state = (await this.crictl(`inspect -o go-template --template '{{.status.state}}' ${this.ctrId}`)).stdout.trim();
      if (state === 'CONTAINER_RUNNING') break;
      await new Promise((res) => setTimeout(res, 1000));
    }
    if (state !== 'CONTAINER_RUNNING') throw new StepFailure(`the container is ${state || 'unknown'}, not running`);
    this.ctrPid = (await this.crictl(`inspect -o go-template --template '{{.info.pid}}' ${this.ctrId}`)).stdout.trim();
    return ok(`running, pid ${this.ctrPid}`, [(await this.crictl('ps')).stdout.trim()]);
  }

  private async logs(): Promise<Outcome> {
    let r: RunResult | undefined;
    for (let i = 0; i < 20; i++) {
      r = await this.crictl(`logs ${this.ctrId}`);
      if (r.stdout.includes(LOG_LINE)) break;
      await new Promise((res) => setTimeout(res, 1000));
    }
    if (!r || !r.stdout.includes(LOG_LINE)) throw new StepFailure(`crictl logs lacks "${LOG_LINE}"`, [r ? out(r) : '']);
    return ok(`"${LOG_LINE}"`, [out(r)]);
  }

  private async exec(): Promise<Outcome> {
    const r = await this.crictl(`exec ${this.ctrId} cat /www/index.html`);
    if (r.code !== 0 || r.stdout !== INDEX_HTML) throw new StepFailure(`crictl exec: exit ${r.code}`, [out(r)]);
    const id = await this.crictl(`exec ${this.ctrId} id`);
    return ok(`cat /www/index.html in the container: "${r.stdout.trim()}"; ${id.stdout.trim()}`);
  }

  private async podNetwork(): Promise<Outcome> {
    if (!this.podIp) throw new StepFailure('the pod has no IP (crictl inspectp)');
    const r = await this.n.sh(`curl -fsS --max-time 30 http://${this.podIp}:${HTTP_PORT}/index.html`);
    if (r.code !== 0 || r.stdout !== INDEX_HTML) throw new StepFailure(`curl http://${this.podIp}:${HTTP_PORT}/ from the node: exit ${r.code}`, [out(r), (await this.n.sh('ip -brief addr; ip route')).stdout]);
    const route = (await this.n.sh(`ip route get ${this.podIp}`)).stdout.trim();
    return ok(`GET http://${this.podIp}:${HTTP_PORT}/index.html from the node: "${r.stdout.trim()}" (${route.split('\n')[0]})`);
  }

  private async restartKeeps(): Promise<Outcome> {
    const conmon = (await this.n.sh(`ps -o ppid= -p ${this.ctrPid}`)).stdout.trim();
    const conmonCmd = (await this.n.sh(`ps -o comm= -p ${conmon}`)).stdout.trim();
    const before = (await this.n.sh('systemctl show -p MainPID --value crio')).stdout.trim();
    const stop = await this.n.sh('systemctl stop crio', { timeoutMs: 300_000 });
    if (stop.code !== 0) throw new StepFailure(`systemctl stop crio: ${out(stop)}`);
    const alive = (await this.n.sh(`kill -0 ${this.ctrPid} && echo alive`)).stdout.trim();
    const start = await this.n.sh('systemctl start crio', { timeoutMs: 600_000 });
    if (start.code !== 0) throw new StepFailure(`systemctl start crio: ${out(start)}`);
    const after = (await this.n.sh('systemctl show -p MainPID --value crio')).stdout.trim();
    let state = '';
    for (let i = 0; i < 30; i++) {
      state = (await this.crictl(`inspect -o go-template --template '{{.status.state}} {{.info.pid}}' ${this.ctrId}`)).stdout.trim();
      if (state) break;
      await new Promise((res) => setTimeout(res, 2000));
    }
    if (alive !== 'alive') throw new StepFailure(`the container's process ${this.ctrPid} died when crio stopped`);
    if (state !== `CONTAINER_RUNNING ${this.ctrPid}`) throw new StepFailure(`after the restart crio reports the container as "${state}"`);
    return ok(`crio ${before} stopped, container pid ${this.ctrPid} kept running under ${conmonCmd || 'its parent'} ${conmon}; crio ${after} started and reports it CONTAINER_RUNNING`);
  }

  private async stop(): Promise<Outcome> {
    const s = await this.crictl(`stop ${this.ctrId}`);
    if (s.code !== 0) throw new StepFailure(`crictl stop: ${out(s)}`);
    const p = await this.crictl(`stopp ${this.podId}`);
    if (p.code !== 0) throw new StepFailure(`crictl stopp: ${out(p)}`);
    return ok(`${s.stdout.trim()}; ${p.stdout.trim()}`);
  }

  private async rm(): Promise<Outcome> {
    const c = await this.crictl(`rm ${this.ctrId}`);
    if (c.code !== 0) throw new StepFailure(`crictl rm: ${out(c)}`);
    const p = await this.crictl(`rmp ${this.podId}`);
    if (p.code !== 0) throw new StepFailure(`crictl rmp: ${out(p)}`);
    const left = (await this.crictl('pods -q')).stdout.trim() + (await this.crictl('ps -a -q')).stdout.trim();
    if (left) throw new StepFailure(`left behind: ${left}`);
    return ok(`${c.stdout.trim()}; ${p.stdout.trim()}; no pods or containers left`);
  }

  private async removeStops(): Promise<Outcome> {
    const wasActive = (await this.n.sh('systemctl is-active crio')).stdout.trim();
    const r = await this.n.sh('apt-get remove cri-o 2>&1', { timeoutMs: 600_000 });
    if (r.code !== 0) throw new StepFailure(`apt-get remove cri-o exited ${r.code}`, [lastLines(r.stdout, 20)]);
    const active = (await this.n.sh('systemctl is-active crio')).stdout.trim();
    const procs = (await this.n.sh('pgrep -x crio || true')).stdout.trim();
    const kept = (await this.n.sh('ls /etc/crio/crio.conf.d/')).stdout.trim().replace(/\n/g, ' ');
    const details = [lastLines(r.stdout, 6), `conffiles kept: ${kept}`];
    if (wasActive !== 'active') {
      return needsReal(`removed (crio was ${wasActive}: ${this.build === 'miniature' ? 'the miniature cannot run' : 'it never started'}), so that removal stops a running crio needs a real build`, details);
    }
    if (active === 'active' || procs) throw new StepFailure(`crio still ${active}${procs ? `, pid ${procs}` : ''} after apt-get remove`, details);
    return ok(`crio was active; after apt-get remove cri-o it is ${active} and no crio process is left; conffiles kept`, details);
  }

  // ---- beside Debian's podman, buildah and skopeo ----------------------------------------------

  private async verify(pkgs: string[]): Promise<string[]> {
    // dpkg --verify: a missing file shows as "missing", a changed one as "??5??????" (conffiles: " c ").
    const r = await this.n.sh(`dpkg --verify ${pkgs.join(' ')} 2>&1`);
    return r.stdout.split('\n').filter((l) => l.trim() !== '' && !/^\?\?5\?\?\?\?\?\? c /.test(l));
  }

  /** Who owns /usr/bin/conmon (Debian's conmon, for podman) and /usr/libexec/crio/conmon (our cri-o-conmon), with versions. */
  private async conmons(): Promise<{ debian: string; ours: string }> {
    const owner = async (path: string) => {
      const r = await this.n.sh(`dpkg -S ${path} 2>/dev/null`);
      const pkg = r.code === 0 ? r.stdout.trim().split(':')[0] ?? '' : '';
      const v = pkg ? (await this.n.sh(`dpkg-query -W -f '\${Version}' ${pkg}`)).stdout.trim() : '';
      return pkg ? `${pkg} ${v}` : '';
    };
    return { debian: await owner('/usr/bin/conmon'), ours: await owner(CRIO_CONMON) };
  }

  private async coexistInstall(): Promise<Outcome> {
    const r = await this.n.sh(`apt-get install cri-o ${THEIRS.join(' ')} 2>&1`, { timeoutMs: 45 * 60_000 });
    if (r.code !== 0) throw new StepFailure(`apt-get install cri-o ${THEIRS.join(' ')} exited ${r.code}`, [lastLines(r.stdout, 30)]);
    if (/trying to overwrite/.test(r.stdout)) throw new StepFailure('dpkg reported a file conflict', [lastLines(r.stdout, 30)]);
    const q = (await this.n.sh(`dpkg-query -W -f '\${Package} \${Version}\\n' ${[...PACKAGES, ...THEIRS, ...SHARED, 'conmon', 'netavark'].join(' ')} 2>&1`)).stdout.trim();
    const bad = await this.verify([...PACKAGES, ...THEIRS, ...SHARED, 'conmon']);
    if (bad.length) throw new StepFailure('dpkg --verify found missing or changed files', bad);
    const audit = (await this.n.sh('dpkg --audit; apt-get check 2>&1 | tail -1')).stdout.trim();
    const c = await this.conmons();
    if (!c.debian.startsWith('conmon ') || c.debian.startsWith('conmon 100:')) throw new StepFailure(`/usr/bin/conmon is not Debian's conmon: ${c.debian || 'no package owns it'}`, [q]);
    if (!c.ours.startsWith('cri-o-conmon ')) throw new StepFailure(`${CRIO_CONMON} is not cri-o-conmon's: ${c.ours || 'no package owns it'}`, [q]);
    const conf = (await this.n.sh("crio config 2>/dev/null | grep -E '^conmon = '")).stdout.trim();
    if (conf !== `conmon = "${CRIO_CONMON}"`) throw new StepFailure(`crio's effective conmon is not ${CRIO_CONMON}: ${conf || '(none)'}`);
    const podman = (await this.n.sh("podman info --format '{{.Host.Conmon.Path}}' 2>&1 | tail -1")).stdout.trim();
    if (podman !== '/usr/bin/conmon') throw new StepFailure(`podman info names conmon ${podman}, not Debian's /usr/bin/conmon`);
    return ok(`installed together, no file conflict, dpkg --verify clean; podman's conmon: ${c.debian} (/usr/bin/conmon); crio's: ${c.ours} (${CRIO_CONMON}, ${conf})`, [q, audit]);
  }

  /** podman run of the run's busybox image from the loopback registry: Debian's podman with Debian's conmon. */
  private async podmanRun(when: string): Promise<Outcome> {
    const conmon = (await this.n.sh("podman info --format '{{.Host.Conmon.Path}} {{.Host.Conmon.Version}}' 2>&1 | tail -1")).stdout.trim();
    const r = await this.n.sh(`podman run --rm --tls-verify=false --network none ${REGISTRY}/acceptance/busybox:1 cat /www/index.html 2>&1`, { timeoutMs: 600_000 });
    if (r.code !== 0 || !r.stdout.includes(INDEX_HTML.trim())) {
      if (/read init-p|connection reset by peer/.test(r.stdout) && this.o.arch === 'arm64' && process.arch !== 'arm64') {
        this.refused(`podman run on arm64 under qemu-user: ${lastLines(r.stdout, 2).replace(/\s+/g, ' ').slice(0, 300)} (runc's container init cannot start under qemu-user)`);
      }
      throw new StepFailure(`podman run ${when} (conmon ${conmon}): ${lastLines(r.stdout, 3).replace(/\n/g, ' ')}`, [lastLines(r.stdout, 20)]);
    }
    return ok(`podman ran a container ${when}, with ${conmon}: it printed ${JSON.stringify(INDEX_HTML.trim())}`);
  }

  private async removeOurs(): Promise<Outcome> {
    const r = await this.n.sh('apt-get remove cri-o cri-o-conmon cri-tools 2>&1', { timeoutMs: 600_000 });
    if (r.code !== 0) throw new StepFailure(`apt-get remove cri-o cri-o-conmon cri-tools exited ${r.code}`, [lastLines(r.stdout, 20)]);
    const gone = [...THEIRS, 'conmon'].filter((p) => new RegExp(`^Removing ${p} `, 'm').test(r.stdout));
    if (gone.length) throw new StepFailure(`removing ours also removed ${gone.join(', ')}`, [lastLines(r.stdout, 20)]);
    const bad = await this.verify([...THEIRS, ...SHARED, 'conmon', 'containernetworking-plugins']);
    if ((await this.n.sh(`test -e ${CRIO_CONMON}`)).code === 0) throw new StepFailure(`${CRIO_CONMON} is still there after cri-o-conmon was removed`);
    if (bad.length) throw new StepFailure('dpkg --verify found missing or changed files of theirs', bad);
    let copied = 'no registry to copy from';
    if (this.steps.find((x) => x.id === 'registry')?.status === 'ok') {
      // skopeo copy evaluates /etc/containers/policy.json: it must still be there and valid.
      const skopeo = await this.n.sh(`rm -rf /tmp/sk && skopeo copy --src-tls-verify=false docker://${REGISTRY}/acceptance/busybox:1 dir:/tmp/sk 2>&1`, { timeoutMs: 300_000 });
      if (skopeo.code !== 0) throw new StepFailure("skopeo (Debian's) cannot copy an image after our packages were removed", [out(skopeo)]);
      copied = 'skopeo copy from the registry works (policy.json evaluated)';
    }
    const versions = (await this.n.sh('podman --version; buildah --version; skopeo --version')).stdout.trim().replace(/\n/g, '; ');
    return ok(`podman, buildah, skopeo intact (dpkg --verify clean, policy.json still there); ${copied}; ${versions}`);
  }

  private async removeTheirs(): Promise<Outcome> {
    const re = await this.n.sh('apt-get install cri-o cri-o-conmon cri-tools 2>&1', { timeoutMs: 600_000 });
    if (re.code !== 0) throw new StepFailure('reinstalling cri-o failed', [lastLines(re.stdout, 20)]);
    const r = await this.n.sh(`apt-get remove ${THEIRS.join(' ')} 2>&1 && apt-get autoremove 2>&1`, { timeoutMs: 600_000 });
    if (r.code !== 0) throw new StepFailure(`apt-get remove ${THEIRS.join(' ')} / autoremove exited ${r.code}`, [lastLines(r.stdout, 20)]);
    const gone = [...PACKAGES, ...SHARED].filter((p) => new RegExp(`^Removing ${p} `, 'm').test(r.stdout));
    if (gone.length) throw new StepFailure(`removing theirs also removed ${gone.join(', ')}`, [lastLines(r.stdout, 30)]);
    const bad = await this.verify([...PACKAGES, ...SHARED]);
    if (bad.length) throw new StepFailure('dpkg --verify found missing or changed files of ours', bad);
    const policy = (await this.n.sh('ls -l /etc/containers/policy.json /etc/containers/registries.conf')).stdout.trim();
    // Debian's conmon goes with podman (autoremove); ours stays where crio.conf names it, and runs.
    const ourConmon = await this.n.sh(`${CRIO_CONMON} --version 2>&1 | head -1`);
    if (ourConmon.code !== 0 || !/conmon version/.test(ourConmon.stdout)) throw new StepFailure(`${CRIO_CONMON} does not run after theirs were removed`, [out(ourConmon)]);
    const conf = (await this.n.sh("crio config 2>/dev/null | grep -E '^conmon = '")).stdout.trim();
    if (conf !== `conmon = "${CRIO_CONMON}"`) throw new StepFailure(`crio's effective conmon is not ${CRIO_CONMON} after theirs were removed: ${conf || '(none)'}`);
    let service = 'crio config works';
    if (this.build === 'real') {
      const s = await this.n.sh('systemctl restart crio && crictl info >/dev/null && echo crio restarted and answers', { timeoutMs: 600_000 });
      if (s.code !== 0) throw new StepFailure('crio does not come back after podman, buildah and skopeo were removed', [out(s)]);
      service = s.stdout.trim();
    } else {
      const c = await this.n.sh('crio config >/dev/null');
      if (c.code !== 0) throw new StepFailure('crio config fails after theirs were removed', [out(c)]);
    }
    return ok(`cri-o, cri-o-conmon, plugins, containers-common intact (dpkg --verify clean); ${ourConmon.stdout.trim()} at ${CRIO_CONMON}; ${service}`, [policy, conf, lastLines(r.stdout, 8)]);
  }
  private async theirsFirst(): Promise<Outcome> {
    // Start over without ours, then Debian's podman, buildah and skopeo with Debian's own conmon and plugins.
    const purge = await this.n.sh(`apt-get purge ${[...PACKAGES, ...THEIRS].join(' ')} 2>&1 && apt-get autoremove --purge 2>&1`, { timeoutMs: 600_000 });
    if (purge.code !== 0) throw new StepFailure('purging both sides failed', [lastLines(purge.stdout, 20)]);
    const debian = async (pkg: string) => {
      const m = await this.n.sh(`apt-cache madison ${pkg}`);
      const v = m.stdout.split('\n').map((l) => l.split('|').map((x) => x.trim())).find((f) => f[1] && !f[1].startsWith('100:') && /debian\.org|debian\//.test(f[2] ?? ''))?.[1];
      if (!v) throw new StepFailure(`no Debian version of ${pkg} in apt-cache madison`, [m.stdout]);
      return v;
    };
    const conmonV = await debian('conmon');
    const cniV = await debian('containernetworking-plugins');
    const theirs = await this.n.sh(`apt-get install ${THEIRS.join(' ')} conmon=${conmonV} containernetworking-plugins=${cniV} 2>&1`, { timeoutMs: 45 * 60_000 });
    if (theirs.code !== 0) throw new StepFailure("installing Debian's podman stack failed", [lastLines(theirs.stdout, 20)]);
    const before = (await this.n.sh("dpkg-query -W -f '${Package} ${Version}\\n' conmon containernetworking-plugins")).stdout.trim().replace(/\n/g, ', ');
    const ours = await this.n.sh('apt-get install cri-o 2>&1', { timeoutMs: 45 * 60_000 });
    if (ours.code !== 0) throw new StepFailure('apt-get install cri-o beside Debian\'s podman stack failed', [lastLines(ours.stdout, 30)]);
    if (/trying to overwrite/.test(ours.stdout)) throw new StepFailure('dpkg reported a file conflict', [lastLines(ours.stdout, 30)]);
    const gone = THEIRS.filter((p) => new RegExp(`^Removing ${p} `, 'm').test(ours.stdout));
    if (gone.length) throw new StepFailure(`installing cri-o removed ${gone.join(', ')}`, [lastLines(ours.stdout, 30)]);
    const after = (await this.n.sh("dpkg-query -W -f '${Package} ${Version}\\n' conmon cri-o-conmon containernetworking-plugins")).stdout.trim().replace(/\n/g, ', ');
    if (/^Removing conmon |^Unpacking conmon /m.test(ours.stdout)) throw new StepFailure("installing cri-o touched Debian's conmon", [lastLines(ours.stdout, 30)]);
    const bad = await this.verify([...PACKAGES, ...THEIRS, ...SHARED]);
    if (bad.length) throw new StepFailure('dpkg --verify found missing or changed files', bad);
    const check = (await this.n.sh('dpkg --audit && apt-get check 2>&1 | tail -1')).stdout.trim();
    const podman = (await this.n.sh("podman info --format '{{.Host.Conmon.Path}} {{.Host.Conmon.Version}}' 2>&1 | tail -1")).stdout.trim();
    const debianConmon = /^conmon (\S+)/m.exec(before.replace(/, /g, '\n'))?.[1] ?? '?';
    if (!new RegExp(`(^|, )conmon ${debianConmon.replace(/[.+]/g, '\\$&')}(,|$)`).test(after)) throw new StepFailure(`Debian's conmon ${debianConmon} did not stay: ${after}`);
    if (!podman.startsWith('/usr/bin/conmon ')) throw new StepFailure(`podman info names conmon ${podman}, not Debian's /usr/bin/conmon`);
    return ok(`Debian's ${before}; after apt-get install cri-o: ${after} (Debian's conmon kept, its plugins replaced by ours); no file conflict, podman, buildah, skopeo kept, dpkg --verify clean`, [`podman info: conmon ${podman}`, check, lastLines(ours.stdout, 12)]);
  }

}

export async function runAcceptance(o: AcceptanceOptions): Promise<AcceptanceReport> {
  return new AcceptanceRun(o).run();
}

/** Reads a JSON report written by --json. */
export async function readReport(path: string): Promise<AcceptanceReport> {
  return JSON.parse(await readFile(path, 'utf8')) as AcceptanceReport;
}
