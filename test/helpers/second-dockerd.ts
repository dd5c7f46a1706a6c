/**
 * A second, real Docker engine on this machine, as a child process: its own socket, data root,
 * exec root (with its own managed containerd) and pid file, no bridge (builds run with networking
 * off) and no iptables rules, and an empty daemon config so /etc/docker/daemon.json does not apply.
 * Together with the main engine it makes a two-host farm; `terminate()` makes one host go away,
 * `restart()` stops it and starts it again on the same data root and socket.
 *
 * It runs in a network namespace of its own (`unshare --net`): a dockerd started with `--bridge
 * none` deletes the host's `docker0` interface at start-up (moby's removeDefaultBridgeInterface),
 * which in the shared namespace took the main engine's default bridge away from every other test.
 *
 * With `network: 'nat'` it instead runs in the host's namespace on a bridge of its own (made here,
 * never docker0), NATed to the outside by three iptables rules of its own (the engine touches no
 * iptables): its image builds reach Debian's mirror, as a second build machine's would. Only then
 * can it also listen on tcp://127.0.0.1 (`tcp`), with TLS (--tlsverify) when given certificates.
 * Everything it adds (bridge, rules) is removed by cleanup().
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { connectDocker, type DockerDriver } from '../../src/hosts/docker.js';

export interface SecondEngine {
  root: string;
  socket: string;
  /** unix://<root>/docker.sock */
  endpoint: string;
  pid: number;
  driver: DockerDriver;
  /** The daemon's log so far (for failure messages). */
  log(): string;
  running(): boolean;
  /** SIGTERM the daemon (as `systemctl stop docker` would) and wait until it has exited. */
  terminate(timeoutMs?: number): Promise<void>;
  /** Stop it if it runs, unmount what it left mounted, remove the data root. */
  cleanup(): Promise<void>;
  /** `systemctl restart docker`: terminate(), then the same daemon again (same socket, data and exec roots); resolves once it answers. `driver` keeps working. */
  restart(): Promise<void>;
}

const started: ChildProcess[] = [];
const networks = new Set<{ down(): void }>();
// A test process that dies without its after() hooks must not leave a daemon (or its rules) behind.
process.on('exit', () => {
  for (const c of started) if (c.exitCode === null && c.signalCode === null && c.pid) process.kill(c.pid, 'SIGTERM');
  for (const n of networks) n.down();
});

export interface SecondDockerdOptions {
  storageDriver?: string;
  readyTimeoutMs?: number;
  /** 'none' (default): a network namespace of its own, no network. 'nat': see the file's head. */
  network?: 'none' | 'nat';
  /** network 'nat' only: also listen on tcp://127.0.0.1:<port>, with TLS when `tls` is given. */
  tcp?: { port: number; tls?: { ca: string; cert: string; key: string } };
}

/** The bridge and iptables rules of a 'nat' engine, so cleanup() can take them away again. */
function natNetwork(): { bridge: string; subnet: string; gateway: string; rules: string[][]; up(): void; down(): void } {
  const taken = execFileSync('ip', ['-4', 'route', 'show'], { encoding: 'utf8' });
  let third = 0;
  for (let i = 0; i < 50 && (!third || taken.includes(`10.213.${third}.`)); i++) third = 1 + Math.floor(Math.random() * 250);
  const bridge = `crb${Math.random().toString(16).slice(2, 8)}`;
  const subnet = `10.213.${third}.0/24`;
  const gateway = `10.213.${third}.1`;
  const rules = [
    ['-t', 'nat', 'POSTROUTING', '-s', subnet, '!', '-o', bridge, '-j', 'MASQUERADE'],
    ['-t', 'filter', 'FORWARD', '-i', bridge, '-j', 'ACCEPT'],
    ['-t', 'filter', 'FORWARD', '-o', bridge, '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ACCEPT'],
  ];
  const rule = (op: string, r: string[]) => [r[0]!, r[1]!, op, ...r.slice(2)];
  return {
    bridge,
    subnet,
    gateway,
    rules,
    up() {
      execFileSync('ip', ['link', 'add', 'name', bridge, 'type', 'bridge']);
      execFileSync('ip', ['addr', 'add', `${gateway}/24`, 'dev', bridge]);
      execFileSync('ip', ['link', 'set', bridge, 'up']);
      for (const r of rules) execFileSync('iptables', rule('-I', r));
    },
    down() {
      for (const r of rules) {
        try {
          execFileSync('iptables', rule('-D', r), { stdio: 'ignore' });
        } catch {
          /* not there */
        }
      }
      try {
        execFileSync('ip', ['link', 'del', bridge], { stdio: 'ignore' });
      } catch {
        /* not there */
      }
    },
  };
}

export async function startSecondDockerd(opts: SecondDockerdOptions = {}): Promise<SecondEngine> {
  // Short path: the managed containerd's sockets live under the exec root (unix paths max 107 bytes).
  const root = mkdtempSync('/tmp/crio-build-dockerd2-');
  const socket = join(root, 'docker.sock');
  const configFile = join(root, 'daemon.json');
  writeFileSync(configFile, '{}\n');
  const logPath = join(root, 'dockerd.log');
  const args = [
    '--host', `unix://${socket}`,
    '--data-root', join(root, 'data'),
    '--exec-root', join(root, 'exec'),
    '--pidfile', join(root, 'docker.pid'),
    '--config-file', configFile,
    '--iptables=false',
    '--ip-masq=false',
    '--ip-forward=false',
  ];
  const nat = opts.network === 'nat' ? natNetwork() : undefined;
  args.push('--bridge', nat ? nat.bridge : 'none');
  if (nat) args.push('--userland-proxy=false');
  if (opts.tcp) {
    if (!nat) throw new Error('a tcp listener needs network: nat (the host\'s namespace)');
    args.push('--host', `tcp://127.0.0.1:${opts.tcp.port}`);
    if (opts.tcp.tls) args.push('--tlsverify', '--tlscacert', opts.tcp.tls.ca, '--tlscert', opts.tcp.tls.cert, '--tlskey', opts.tcp.tls.key);
  }
  if (opts.storageDriver) args.push('--storage-driver', opts.storageDriver);
  if (nat) {
    nat.up();
    networks.add(nat);
  }
  let child: ChildProcess;
  let exited: Promise<void>;
  const launch = () => {
    const fd = openSync(logPath, 'a');
    // unshare execs dockerd (no fork): the child's pid is the daemon's.
    child = nat ? spawn('dockerd', args, { stdio: ['ignore', fd, fd] }) : spawn('unshare', ['--net', '--', 'dockerd', ...args], { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    started.push(child);
    const c = child;
    exited = new Promise<void>((res) => c.once('exit', () => res()));
  };
  launch();
  const log = () => (existsSync(logPath) ? readFileSync(logPath, 'utf8') : '');
  const running = () => child.exitCode === null && child.signalCode === null;

  const terminate = async (timeoutMs = 60_000) => {
    if (!running()) return;
    const c = child;
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.exitCode === null && c.signalCode === null && c.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  };

  const cleanup = async () => {
    await terminate();
    // Its containerd and shims are its children; a daemon killed hard can leave them behind.
    for (const pid of processesUnder(root)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    for (const mount of mountsUnder(root).reverse()) {
      try {
        execFileSync('umount', ['-l', mount]);
      } catch {
        /* already gone */
      }
    }
    rmSync(root, { recursive: true, force: true });
    if (nat) {
      nat.down();
      networks.delete(nat);
    }
  };

  const ready = async (): Promise<DockerDriver> => {
    const until = Date.now() + (opts.readyTimeoutMs ?? 60_000);
    let lastError: Error | undefined;
    while (Date.now() < until && running()) {
      if (existsSync(socket)) {
        try {
          return await connectDocker({ host: `unix://${socket}` });
        } catch (err) {
          lastError = err as Error;
        }
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    const tail = log().split('\n').slice(-30).join('\n');
    throw new Error(`the second dockerd did not come up (${running() ? 'no answer' : `exited ${child.exitCode ?? child.signalCode}`}${lastError ? `: ${lastError.message}` : ''}):\n${tail}`);
  };
  let driver: DockerDriver;
  try {
    driver = await ready();
  } catch (err) {
    await cleanup();
    throw err;
  }
  const engine: SecondEngine = {
    root,
    socket,
    endpoint: `unix://${socket}`,
    pid: child!.pid!,
    driver,
    log,
    running,
    terminate,
    cleanup,
    async restart() {
      await terminate();
      launch();
      engine.pid = child.pid!;
      await ready();
    },
  };
  return engine;
}

/** Mount points at or below `dir`, in mount order. */
function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4]?.replace(/\\040/g, ' '))
    .filter((m): m is string => !!m && (m === dir || m.startsWith(dir + '/')));
}

/** Pids of processes whose command line or working directory is under `dir` (containerd, shims). */
function processesUnder(dir: string): number[] {
  const out: number[] = [];
  for (const ent of readdirSync('/proc')) {
    if (!/^\d+$/.test(ent) || Number(ent) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${ent}/cmdline`, 'utf8');
      let cwd = '';
      try {
        cwd = readlinkSync(`/proc/${ent}/cwd`);
      } catch {
        /* kernel thread or gone */
      }
      if (cmd.includes(dir + '/') || cwd.startsWith(dir + '/')) out.push(Number(ent));
    } catch {
      /* gone */
    }
  }
  return out;
}
