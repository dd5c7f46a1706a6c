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
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { connectDocker, type DockerDriver } from '../../src/builder/docker.js';

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
// A test process that dies without its after() hooks must not leave a daemon running.
process.on('exit', () => {
  for (const c of started) if (c.exitCode === null && c.signalCode === null && c.pid) process.kill(c.pid, 'SIGTERM');
});

export async function startSecondDockerd(opts: { storageDriver?: string; readyTimeoutMs?: number } = {}): Promise<SecondEngine> {
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
    '--bridge', 'none',
    '--iptables=false',
    '--ip-masq=false',
    '--ip-forward=false',
  ];
  if (opts.storageDriver) args.push('--storage-driver', opts.storageDriver);
  let child: ChildProcess;
  let exited: Promise<void>;
  const launch = () => {
    const fd = openSync(logPath, 'a');
    // unshare execs dockerd (no fork): the child's pid is the daemon's.
    child = spawn('unshare', ['--net', '--', 'dockerd', ...args], { stdio: ['ignore', fd, fd] });
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
